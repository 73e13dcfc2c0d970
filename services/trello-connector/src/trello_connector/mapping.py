"""Trello card <-> task fields.

A mapping must round-trip: mapping what we wrote has to give back what we wrote, or every echo
of our own write would look like a person's edit.

- ``name`` <-> title; ``dueComplete`` <-> completed (or the card's list, when the connection
  maps lists to done / not done: see list_mapping).
- ``desc`` <-> description, minus our marker (below).
- ``due`` (a datetime) <-> due_date (a date): we write noon UTC, so the calendar day survives
  every timezone from UTC-11 to UTC+11 when a person looks at it; we read the UTC date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from tether_sync import TaskFields
from trello_connector.list_mapping import ListMapping

NO_MAPPING = ListMapping()

# A Markdown link reference definition: Trello renders nothing for it, so the marker is
# invisible to people, yet it is created atomically with the card, which is what lets an
# export that crashed after Trello's create call find its card instead of making another.
_MARKER = "[tether]: https://tether.invalid/link/{link_id}"
_MARKER_RE = re.compile(r"(?:\n\n)?\[tether\]: https://tether\.invalid/link/([\w-]+)$")


def marker(link_id: str) -> str:
    return _MARKER.format(link_id=link_id)


def marked_desc(description: str, link_id: str) -> str:
    return f"{description}\n\n{marker(link_id)}" if description else marker(link_id)


def link_id_of(desc: str) -> str | None:
    found = _MARKER_RE.search(desc)
    return found.group(1) if found else None


def strip_marker(desc: str) -> str:
    return _MARKER_RE.sub("", desc)


def due_to_trello(due_date: date | None) -> str | None:
    if due_date is None:
        return None
    return datetime.combine(due_date, time(12), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def due_from_trello(due: str | None) -> date | None:
    if not due:
        return None
    return datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(UTC).date()


def card_fields(card: dict[str, Any], lists: ListMapping | None = None) -> TaskFields:
    """``lists``: the connection's list mapping, if any (then a mapped list decides
    completion; see list_mapping)."""
    return TaskFields(
        title=str(card.get("name", "")),
        description=strip_marker(str(card.get("desc") or "")),
        due_date=due_from_trello(card.get("due")),
        completed=(lists or NO_MAPPING).card_completed(card),
    )


def card_params(changes: dict[str, Any], *, link_id: str) -> dict[str, Any]:
    """Trello request parameters for the given field changes; a description always carries
    the marker again, so editing it never loses the card's link."""
    params: dict[str, Any] = {}
    if "title" in changes:
        params["name"] = changes["title"]
    if "description" in changes:
        params["desc"] = marked_desc(str(changes["description"]), link_id)
    if "due_date" in changes:
        due = changes["due_date"]
        params["due"] = due_to_trello(
            due if isinstance(due, date) or due is None else date.fromisoformat(str(due))
        )
    if "completed" in changes:
        params["dueComplete"] = bool(changes["completed"])
    return params
