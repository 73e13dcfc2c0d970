"""Trello card <-> task fields.

A mapping must round-trip: mapping what we wrote has to give back what we wrote, or every echo
of our own write would look like a person's edit.

- ``name`` <-> title; ``dueComplete`` <-> completed (or the card's list, when the connection
  maps lists to done / not done: the runtime's status mapping).
- ``desc`` <-> description, minus our marker (below).
- ``due`` (always an instant: PROVIDERS.md, Trello) <-> due (a date or an instant): an
  instant is itself; a date is 12:00 local time that day in the connection owner's zone, and
  an instant exactly at 12:00 local in that zone reads back as the date
  (:mod:`tether_connector_runtime.due_dates` says why noon). A card's due is read back in
  the zone its link's due was last written in, then the owner's current one, so a date we
  wrote stays that date after the owner moves. A webhook's action is read before its link
  is known: its ``due`` is read in UTC and the notice says so (``due_read_in``), and the
  runtime reads it again in the link's zones before comparing it with the card.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tether_connector_runtime.due_dates import UTC_ZONE, due_of, instant_of
from tether_connector_runtime.port import ItemNotice, PlaceMove, ProviderItem
from tether_sync import Due, FieldName, FieldValue, TaskFields, normalise_due

# A Markdown link reference definition: Trello renders nothing for it, so the marker is
# invisible to people, yet it is created atomically with the card, which is what lets an
# export that crashed after Trello's create call find its card instead of making another.
# It is written last, after a blank line: a definition cannot interrupt a paragraph
# (https://spec.commonmark.org/0.31.2/#link-reference-definitions).
_MARKER = "[tether]: https://tether.invalid/link/{link_id}"
_SEPARATOR = "\n\n"
# The marker as people and their editors may leave it: on any line, amid any text, brackets
# escaped by an editor, CRLF line ends, more than once.
_TOKEN = r"\\?\[tether\\?\]:[ \t]*https://tether\.invalid/link/([\w-]+)"
_ANY_MARKER = re.compile(_TOKEN)
# Ours as we write it, possibly followed only by whitespace: with the separator before it.
# Each ``(?<![ \t])[ \t]*`` starts only where a run of blanks starts: tried from inside a run
# too, a 16384-character desc of spaces would cost seconds.
_AT_END = re.compile(rf"(?:\n\n|\r\n\r\n|\r?\n)?(?<![ \t])[ \t]*{_TOKEN}[ \t\r\n]*\Z")
# Ours with text typed below it after a blank line: the blank line after it stays.
_BETWEEN_BLANKS = re.compile(
    rf"(?:\n\n|\r\n\r\n)[ \t]*{_TOKEN}[ \t]*(?=\r?\n[ \t]*\r?\n)"
    rf"|\A[ \t]*{_TOKEN}[ \t]*\r?\n(?:[ \t]*\r?\n)?"
)
# Anywhere else: a line of its own goes with its line end, inside a line only the marker goes.
_LINE = re.compile(rf"^[ \t]*{_TOKEN}[ \t]*(?:\r\n|\n|\r)", re.MULTILINE)
_INLINE = re.compile(rf"(?<![ \t])[ \t]*{_TOKEN}[ \t]*(?=\r|\n|\Z)|{_TOKEN}[ \t]*")


def marker(link_id: str) -> str:
    return _MARKER.format(link_id=link_id)


def marked_desc(description: str, link_id: str) -> str:
    """The card's ``desc`` for a description: the description without any marker it held
    (one a person pasted, one leaked by an older version), then exactly one marker, ours."""
    text = strip_marker(description)
    return f"{text}{_SEPARATOR}{marker(link_id)}" if text else marker(link_id)


def link_id_of(desc: str) -> str | None:
    """The link id a card's marker names, wherever in ``desc`` it is; with several, the last
    (ours is written last). None without a marker: a person may delete it, and the link goes
    on by the card's id (the marker only finds the card of an export that crashed)."""
    found = _ANY_MARKER.findall(desc)
    return str(found[-1]) if found else None


def carries_marker(desc: str, link_id: str) -> bool:
    """Whether ``desc`` holds a marker naming ``link_id`` (among any others)."""
    return link_id in _ANY_MARKER.findall(desc)


def strip_marker(desc: str) -> str:
    """``desc`` without any marker, as core sees it. Mapping what we wrote gives back exactly
    the description we wrote; a person's text around a marker is kept, minus the marker's
    line (or the marker alone, inside a line)."""
    if not _ANY_MARKER.search(desc):
        return desc
    text = desc
    while (found := _AT_END.search(text)) is not None:
        text = text[: found.start()]
    text = _BETWEEN_BLANKS.sub("", text)
    text = _LINE.sub("", text)
    # Removing one marker could join the text around it into another: until none is left.
    while _ANY_MARKER.search(text):
        text = _INLINE.sub("", text)
    return text


def due_to_trello(due: Due | None, zone: ZoneInfo) -> str | None:
    """Trello's ``due`` for ours: ISO 8601 in UTC with milliseconds, as Trello answers it
    (``2026-11-30T23:00:00.000Z`` for 2026-12-01 in Pacific/Auckland); None clears it."""
    if due is None:
        return None
    return instant_of(due, zone).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def due_from_trello(due: str | None, *zones: ZoneInfo) -> Due | None:
    """Our due for Trello's: a date when it is 12:00 local time in one of ``zones`` (the first
    that matches; none given: UTC), else the instant. ``ValueError`` for text that is no
    instant."""
    if not due:
        return None
    instant = normalise_due(str(due))
    if not isinstance(instant, datetime):
        raise ValueError(f"not an instant: {due!r}")
    return due_of(instant, *(zones or (UTC_ZONE,)))


def card_fields(card: dict[str, Any], *zones: ZoneInfo) -> TaskFields:
    """The card's own reading (``dueComplete`` for completion); ``zones``: where its due reads
    as a date (``Owner.reading_zones``; none given: UTC)."""
    return TaskFields(
        title=str(card.get("name", "")),
        description=strip_marker(str(card.get("desc") or "")),
        due=due_from_trello(card.get("due"), *zones),
        completed=bool(card.get("dueComplete", False)),
    )


def card_item(card: dict[str, Any], *zones: ZoneInfo) -> ProviderItem:
    return ProviderItem(
        external_id=str(card["id"]),
        container_id=str(card.get("idBoard") or ""),
        place_id=str(card["idList"]) if card.get("idList") else None,
        fields=card_fields(card, *zones),
        closed=bool(card.get("closed")),
        url=str(card.get("shortUrl") or card.get("url") or ""),
        marker=link_id_of(str(card.get("desc") or "")),
        edited_at=parse_instant(card.get("dateLastActivity")),
    )


# Which of our fields an action's ``data.old`` says changed (Trello names the card fields it
# changed there; idList is a move between lists, which a status mapping reads as completion).
_FIELD_OF: dict[str, FieldName] = {
    "name": "title",
    "desc": "description",
    "due": "due",
    "dueComplete": "completed",
    "idList": "completed",
}


def action_notice(action: dict[str, Any], zone: ZoneInfo = UTC_ZONE) -> ItemNotice | None:
    """What a card action (a webhook's ``action``, or one from ``/boards/{id}/actions``) says:
    the card, when the action set each of our fields, and the value it set where the action
    carries it; None for an action on no card.

    Trello names the fields an ``updateCard`` changed in ``data.old`` and carries their new
    values in ``data.card`` (https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/);
    a ``createCard`` sets every field, though its ``data.card`` holds only the name. ``zone``
    reads ``due`` (the connection owner's, when known; the notice names it in
    ``due_read_in``, so the runtime can read the due again in the link's zones).
    """
    data = action.get("data") or {}
    card = data.get("card") or {}
    if not card.get("id"):
        return None
    at = parse_instant(action.get("date"))
    if at is None:
        return ItemNotice(str(card["id"]))
    if action.get("type") == "createCard":
        changed: list[str] = list(_FIELD_OF)
    else:
        changed = [k for k in data.get("old") or {} if k in _FIELD_OF]
    times: dict[FieldName, datetime] = {_FIELD_OF[k]: at for k in changed}
    values: dict[FieldName, FieldValue] = {}
    for key in changed:
        if key in card and key in _VALUE_OF:
            values[_FIELD_OF[key]] = _VALUE_OF[key](card[key], zone)
    return ItemNotice(str(card["id"]), times, values, due_read_in=zone)


def list_move(action: dict[str, Any]) -> PlaceMove | None:
    """The list an action says moved to another board, and the board it left: Trello's
    ``moveListFromBoard`` (``data.board`` the old board, ``data.boardTarget`` the new) or
    ``moveListToBoard`` (``data.board`` the new, ``data.boardSource`` the old)
    (https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/); None for any
    other action."""
    data = action.get("data") or {}
    source = {"moveListFromBoard": "board", "moveListToBoard": "boardSource"}.get(
        str(action.get("type"))
    )
    list_id = (data.get("list") or {}).get("id")
    from_board = (data.get(source) or {}).get("id") if source else None
    if not list_id or not from_board:
        return None
    return PlaceMove(str(list_id), str(from_board))


# Our value of a card field as an action's ``data.card`` carries it (``idList`` and
# ``dueComplete`` are left out: with a status mapping completion is read from the list).
_VALUE_OF: dict[str, Callable[[Any, ZoneInfo], FieldValue]] = {
    "name": lambda v, _: str(v or ""),
    "desc": lambda v, _: strip_marker(str(v or "")),
    "due": lambda v, zone: due_from_trello(v, zone),
}


def parse_instant(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def card_params(
    changes: dict[str, Any], *, link_id: str, zone: ZoneInfo = UTC_ZONE
) -> dict[str, Any]:
    """Trello request parameters for the given field changes; a description always carries
    the marker again, so editing it never loses the card's link; a due is written in
    ``zone`` (the connection owner's)."""
    params: dict[str, Any] = {}
    if "title" in changes:
        params["name"] = changes["title"]
    if "description" in changes:
        params["desc"] = marked_desc(str(changes["description"]), link_id)
    if "due" in changes:
        params["due"] = due_to_trello(normalise_due(changes["due"]), zone)
    if "completed" in changes:
        params["dueComplete"] = bool(changes["completed"])
    return params
