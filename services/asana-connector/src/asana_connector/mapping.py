"""Asana task <-> task fields (PROVIDERS.md, Asana; https://developers.asana.com/reference/tasks).

A mapping must round-trip: mapping what we wrote has to give back what we wrote, or every echo
of our own write would look like a person's edit.

- ``name`` <-> title; ``completed`` <-> completed (or the task's section, when the connection
  maps sections to done / not done: the runtime's status mapping).
- ``html_notes`` <-> description (Markdown) through :mod:`asana_connector.rich_text`; a value
  that is not XML falls back to the plain ``notes``. Our marker (below) is never part of it.
- ``due_on`` (a date) <-> a date due; ``due_at`` (an instant, UTC) <-> an instant due. Asana
  has both kinds, so no time zone is involved and a date stays a date; we send exactly one.

**The marker** (which link made a task, so an export that crashed after Asana's create call
finds its task instead of making another; ``ProviderItem.marker``):

- OAuth connections set the task's ``external`` ``{"gid": <link id>}`` in the create call:
  hidden from people, and readable as ``GET /tasks/external:<link id>``
  (https://developers.asana.com/docs/custom-external-data).
- A personal access token cannot set ``external`` (Asana answers 403), so its marker is part
  of ``html_notes`` as created: ``<a href="https://tether.invalid/link/<link id>">U+200B</a>``
  at the end, a link whose only text is a zero-width space, so people see nothing (the
  ``.invalid`` domain can never resolve). It is in Asana's tag set (``<a href>``), so Asana's
  validation accepts it, and it is stripped before the description is read, so it never
  reaches core. Whether Asana's own editor keeps an invisible link when a person edits the
  description is unconfirmed; it only needs to live until the export is recorded (the link
  then knows the task's gid), and every description we write carries it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from asana_connector.rich_text import (
    InvalidHtmlNotes,
    html_notes_to_markdown,
    markdown_to_html_notes,
)
from tether_connector_runtime.port import ProviderItem
from tether_connector_runtime.retry import PermanentProviderError
from tether_sync import Due, FieldValue, TaskFields, normalise_due

# Every field the mapping reads, asked for explicitly: html_notes is opt-in
# (https://developers.asana.com/docs/inputoutput-options), and a list answers compact records.
TASK_FIELDS = (
    "name,notes,html_notes,due_on,due_at,start_on,completed,modified_at,permalink_url,"
    "memberships.project.name,memberships.section.name"
)
# ``external`` only for OAuth: it exists for the app that set it alone.
OAUTH_TASK_FIELDS = f"{TASK_FIELDS},external"

_ZERO_WIDTH = "\u200b"
_MARKER_URL = "https://tether.invalid/link/"
# Ours as written, and as an XML serialiser may give it back: either quote, the zero-width
# space literal or as a character reference, spaces inside the tag.
_MARKER = re.compile(
    r"<a\s+href\s*=\s*([\"'])https://tether\.invalid/link/([A-Za-z0-9_-]{1,64})\1\s*>"
    r"(?:\u200b|&#8203;|&#x200[bB];)?</a>"
)
_BODY_END = "</body>"


def pat_marker(link_id: str) -> str:
    """The marker element for a personal access token connection."""
    return f'<a href="{_MARKER_URL}{link_id}">{_ZERO_WIDTH}</a>'


def html_notes_for(description: str, link_id: str | None) -> str:
    """``html_notes`` for a description: Asana's rich text (``<body>...</body>``), with the
    PAT marker naming ``link_id`` at its end when given."""
    html = markdown_to_html_notes(description)
    if link_id is None:
        return html
    return f"{html[: -len(_BODY_END)]}{pat_marker(link_id)}{_BODY_END}"


def split_marker(html_notes: str) -> tuple[str, str | None]:
    """``html_notes`` without any PAT marker, and the link id of the last one (ours is
    written last); None without one."""
    found = _MARKER.findall(html_notes)
    if not found:
        return html_notes, None
    return _MARKER.sub("", html_notes), str(found[-1][1])


def description_of(task: Mapping[str, Any]) -> str:
    """The task's description as Markdown: ``html_notes`` (marker stripped) converted, else
    its plain ``notes`` when ``html_notes`` is absent or not XML."""
    html = task.get("html_notes")
    if isinstance(html, str):
        try:
            return html_notes_to_markdown(split_marker(html)[0])
        except InvalidHtmlNotes:
            pass
    # The plain rendering shows the marker's zero-width space: not part of the description.
    return str(task.get("notes") or "").replace(_ZERO_WIDTH, "")


def description_held_as(description: str) -> str:
    """What a task's description reads back as once ``description`` was written: the same
    content in the canonical Markdown spelling (``html_notes`` keep content, not spelling:
    ``__bold__`` comes back ``**bold**``)."""
    return description_of({"html_notes": html_notes_for(description, None)})


def due_of(task: Mapping[str, Any]) -> Due | None:
    """``due_at`` (an instant, to the millisecond, UTC) if set, else ``due_on`` (a date);
    ``ValueError`` for a value that is neither."""
    if task.get("due_at"):
        return normalise_due(str(task["due_at"]))
    if task.get("due_on"):
        return date.fromisoformat(str(task["due_on"]))
    return None


def task_fields(task: Mapping[str, Any]) -> TaskFields:
    return TaskFields(
        title=str(task.get("name") or ""),
        description=description_of(task),
        due=due_of(task),
        completed=bool(task.get("completed", False)),
    )


def marker_of(task: Mapping[str, Any]) -> str | None:
    """The link id the task's marker names: ``external.gid`` (OAuth) or the PAT marker."""
    external = task.get("external")
    if isinstance(external, dict) and external.get("gid"):
        return str(external["gid"])
    html = task.get("html_notes")
    return split_marker(html)[1] if isinstance(html, str) else None


def task_item(task: Mapping[str, Any]) -> ProviderItem:
    """The pipeline's view of a task answered with :data:`TASK_FIELDS`. Its container and
    place are its first membership's project and section (a task in several projects is
    followed in the one it was exported to, which stays first)."""
    if "memberships" not in task:
        # Absent, not empty: a grant without the scopes to see them (projects:read,
        # project_sections:read). Read as "in no project" it would unlink every link; it is
        # an error a person can fix by granting them instead.
        raise PermanentProviderError(
            f"Asana answered task {task.get('gid')} without its memberships: does the grant "
            "have the projects:read and project_sections:read scopes?"
        )
    # Entries without a project (other kinds Asana may add, per its API reference) are skipped.
    memberships = [m for m in task["memberships"] or [] if isinstance(m, dict) and m.get("project")]
    first = memberships[0] if memberships else {}
    project = first.get("project") or {}
    section = first.get("section") or {}
    return ProviderItem(
        external_id=str(task["gid"]),
        container_id=str(project.get("gid") or ""),
        place_id=str(section["gid"]) if section.get("gid") else None,
        fields=task_fields(task),
        url=str(task.get("permalink_url") or ""),
        marker=marker_of(task),
        edited_at=modified_at(task),
    )


def modified_at(task: Mapping[str, Any]) -> datetime | None:
    """When the task last changed (Asana's ``modified_at``, ISO 8601 in UTC); None if unsaid."""
    try:
        return datetime.fromisoformat(str(task["modified_at"]))
    except (KeyError, ValueError):
        return None


def due_data(due: FieldValue) -> dict[str, Any]:
    """The one due field to send: ``due_on`` for a date, ``due_at`` (UTC, milliseconds, as
    Asana answers it) for an instant; clearing sends ``due_on: null``, which clears both."""
    value = normalise_due(due)
    if value is None:
        return {"due_on": None}
    if isinstance(value, datetime):
        return {"due_at": value.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    return {"due_on": value.isoformat()}


def start_to_clear(start_on: object, due: FieldValue) -> bool:
    """Whether writing ``due`` needs the task's start date (``start_on``, YYYY-MM-DD or None)
    cleared: Asana takes a start date only with a due date, and only before it ("due_on or
    due_at must be present in the request when setting or unsetting the start_on parameter",
    https://developers.asana.com/reference/updatetask; a start on the due date is refused)."""
    if not isinstance(start_on, str) or not start_on:
        return False
    value = normalise_due(due)
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    return day <= date.fromisoformat(start_on)


def task_data(changes: Mapping[str, FieldValue], *, pat_link_id: str | None) -> dict[str, Any]:
    """Asana's fields for the given field changes, only those; a description written for a
    personal access token connection carries the marker again (``pat_link_id``)."""
    data: dict[str, Any] = {}
    if "title" in changes:
        data["name"] = str(changes["title"])
    if "description" in changes:
        data["html_notes"] = html_notes_for(str(changes["description"] or ""), pat_link_id)
    if "due" in changes:
        data.update(due_data(changes["due"]))
    if "completed" in changes:
        data["completed"] = bool(changes["completed"])
    return data


def task_gids(events: list[dict[str, Any]]) -> list[str]:
    """The gids of the tasks a list of events (a webhook's or ``GET /events``'s) is about,
    each once, in order of first mention: events carry no new values for the fields we map,
    so each task costs one read, however many events name it."""
    gids: dict[str, None] = {}
    for event in events:
        resource = event.get("resource") if isinstance(event, dict) else None
        if not isinstance(resource, dict) or resource.get("resource_type") != "task":
            continue
        if resource.get("gid"):
            gids.setdefault(str(resource["gid"]), None)
    return list(gids)
