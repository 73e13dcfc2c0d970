"""A Jira issue <-> the pipeline's fields (PROVIDERS.md, Jira Cloud; REST API v3).

- ``summary`` <-> title (at most 255 characters: ``FIELD_LIMITS``, the runtime shortens);
  ``description`` (ADF) <-> description (Markdown, :mod:`jira_connector.adf`); ``duedate``
  (``YYYY-MM-DD``) <-> a date (Jira's due date has no time: an instant is written as its date
  in the connection owner's zone); completion is the status's category
  (``statusCategory.key == "done"``), reached through transitions, never written as a field.
- An issue is known by its ``id``, which stays when a person moves it to another project
  (its ``key`` changes then); its container is its project's key, its place its status.
- The marker is an entity property set in the create call (``properties``), hidden from
  people and readable with ``GET /issue/{id}?properties=<key>``
  (https://developer.atlassian.com/cloud/jira/platform/jira-entity-properties/).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jira_connector.adf import adf_to_markdown, markdown_to_adf
from tether_connector_runtime.port import ProviderItem
from tether_connector_runtime.retry import PermanentProviderError
from tether_sync import FieldName, FieldValue, TaskFields, normalise_due

MARKER_PROPERTY = "tether.link"  # value {"id": <link id>}
# The fields the mapping reads, named so answers carry only them.
ISSUE_FIELDS = "summary,description,duedate,status,updated,project,issuetype"
# https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/: "summary"
# longer than 255 characters is refused with a 400, never cut.
SUMMARY_MAX = 255
FIELD_LIMITS: Mapping[FieldName, int] = {"title": SUMMARY_MAX}
DONE = "done"  # statusCategory.key of every status that means done


def marker_of(issue: Mapping[str, Any]) -> str | None:
    """The link id our entity property names, when the answer carries it."""
    value = (issue.get("properties") or {}).get(MARKER_PROPERTY)
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None


def marker_value(link_id: str, *, archived: bool = False) -> dict[str, Any]:
    """Our entity property's value: the link's id, and ``archived`` once its task was deleted
    in Tether (Jira has no recoverable delete outside Premium: the issue stays, marked)."""
    return {"id": link_id, "archived": True} if archived else {"id": link_id}


def archived(issue: Mapping[str, Any]) -> bool:
    value = (issue.get("properties") or {}).get(MARKER_PROPERTY)
    return isinstance(value, dict) and value.get("archived") is True


def place_id(project_key: str, status_id: str) -> str:
    """A status as a place: ``<project key>:<status id>``. Jira's statuses are shared by
    projects, a status mapping is per project (its done status), so the place names both."""
    return f"{project_key}:{status_id}"


def split_place(place: str) -> tuple[str, str]:
    """``(project key, status id)`` of a place id; ``ValueError`` if it is not one."""
    key, sep, status = place.partition(":")
    if not sep or not key or not status:
        raise ValueError(f"not a Jira place (<project key>:<status id>): {place[:40]!r}")
    return key, status


def is_done(issue: Mapping[str, Any]) -> bool:
    status = (issue.get("fields") or {}).get("status") or {}
    return bool((status.get("statusCategory") or {}).get("key") == DONE)


def issue_fields(issue: Mapping[str, Any]) -> TaskFields:
    fields = issue.get("fields") or {}
    due = fields.get("duedate")
    return TaskFields(
        title=str(fields.get("summary") or ""),
        description=adf_to_markdown(fields.get("description")).text,
        due=date.fromisoformat(str(due)) if due else None,
        completed=is_done(issue),
    )


def updated_at(issue: Mapping[str, Any]) -> datetime | None:
    """``fields.updated`` (``2026-12-01T10:00:00.000+0100``, the reader's zone) in UTC."""
    text = str((issue.get("fields") or {}).get("updated") or "")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    except ValueError:
        return None


def issue_item(issue: Mapping[str, Any], site_url: str) -> ProviderItem:
    """The pipeline's view of an issue answered with :data:`ISSUE_FIELDS` (and the marker
    property when asked for)."""
    fields = issue.get("fields") or {}
    project = str((fields.get("project") or {}).get("key") or "")
    status = str((fields.get("status") or {}).get("id") or "")
    return ProviderItem(
        external_id=str(issue["id"]),
        container_id=project,
        place_id=place_id(project, status) if project and status else None,
        fields=issue_fields(issue),
        closed=archived(issue),
        url=f"{site_url.rstrip('/')}/browse/{issue.get('key', issue['id'])}",
        marker=marker_of(issue),
        edited_at=updated_at(issue),
    )


def due_value(due: FieldValue, zone: ZoneInfo) -> str | None:
    """``duedate`` for a due: the date, or an instant's date in ``zone`` (the connection
    owner's: the day the person means; Jira keeps no time)."""
    value = normalise_due(due)
    if value is None:
        return None
    day = value.astimezone(zone).date() if isinstance(value, datetime) else value
    return day.isoformat()


def issue_data(changes: Mapping[FieldName, FieldValue], zone: ZoneInfo) -> dict[str, Any]:
    """Jira's ``fields`` for the given changes (completion is a transition, not a field);
    ``zone``: where an instant's day is taken."""
    data: dict[str, Any] = {}
    if "title" in changes:
        data["summary"] = str(changes["title"] or "")
    if "description" in changes:
        text = str(changes["description"] or "")
        data["description"] = markdown_to_adf(text) if text else None
    if "due" in changes:
        data["duedate"] = due_value(changes["due"], zone)
    return data


# https://support.atlassian.com/jira-cloud-administration/docs/edit-a-projects-details/: a key
# starts with a letter, then letters, digits or underscores (upper case on Cloud).
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,254}")


def project_key(value: object) -> str:
    """``value`` if it is a Jira project key (safe inside JQL); ``PermanentProviderError``
    (400) if not."""
    if isinstance(value, str) and _PROJECT_KEY.fullmatch(value):
        return value
    raise PermanentProviderError(f"not a Jira project key: {str(value)[:40]!r}", status=400)
