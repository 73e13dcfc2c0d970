"""The issue fields ``POST /issue`` and ``PUT /issue/{key}`` take, checked as Jira checks them.

Settable: ``summary`` (required on create, at most 255 characters, one line), ``description``
(an ADF document or null), ``duedate`` (``YYYY-MM-DD`` or null); on create also ``project``
(``{"key"}`` or ``{"id"}``) and ``issuetype`` (``{"id"}`` or ``{"name"}``). Anything else
(``status`` included: it changes only by a transition) is refused per field, and every fault
is reported at once in ``errors``, ``errorMessages`` empty, as Jira does
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tether_emulators.jira import adf
from tether_emulators.jira.errors import NOT_SETTABLE, field_errors
from tether_emulators.jira.store import IssueType, JiraStore, Project

JSON = dict[str, Any]
EDITABLE = ("summary", "description", "duedate")
SUMMARY_MAX = 255


@dataclass
class FieldChanges:
    """The checked values: ``values`` maps each field given to its new value."""

    values: JSON = field(default_factory=dict)
    project: Project | None = None
    issuetype: IssueType | None = None


def parse_fields(store: JiraStore, fields: object, *, creating: bool) -> FieldChanges:
    """The changes ``fields`` asks for; a 400 naming every field at fault."""
    if not isinstance(fields, dict):
        fields = {}
    errors: dict[str, str] = {}
    changes = FieldChanges()
    if creating:
        changes.project, changes.issuetype = _placement(store, fields, errors)
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
    for name, value in fields.items():
        if creating and name in ("project", "issuetype"):
            continue
        if name not in EDITABLE:
            errors[name] = NOT_SETTABLE.format(name)
            continue
        problem = _problem(name, value)
        if problem is not None:
            errors.setdefault(name, problem)
        else:
            changes.values[name] = value
    if errors:
        raise field_errors(errors)
    return changes


def _problem(name: str, value: Any) -> str | None:
    if name == "summary":
        if not isinstance(value, str) or not value.strip():
            return "You must specify a summary of the issue."
        if len(value) > SUMMARY_MAX:
            return "Summary must be less than 255 characters."
        if "\n" in value or "\r" in value:
            return "The summary is invalid because it contains newline characters."
        return None
    if name == "description":
        return None if value is None or adf.is_document(value) else adf.INVALID
    return None if value is None or _is_date(value) else f"Error parsing date string: {value}"


def _is_date(value: object) -> bool:
    """``YYYY-MM-DD`` exactly (``fromisoformat`` also takes ``20240501``)."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _placement(
    store: JiraStore, fields: JSON, errors: dict[str, str]
) -> tuple[Project | None, IssueType | None]:
    ref = fields.get("project")
    ident = ref.get("key") or ref.get("id") if isinstance(ref, dict) else None
    project = store.project_or_none(str(ident)) if ident else None
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
        return None, None
    kind = fields.get("issuetype")
    if not isinstance(kind, dict) or not (kind.get("id") or kind.get("name")):
        errors["issuetype"] = "Specify an issue type"
        return project, None
    wanted = {str(kind.get("id") or ""), str(kind.get("name") or "").casefold()}
    found = next((t for t in project.issue_types if {t.id, t.name.casefold()} & wanted), None)
    if found is None:
        errors["issuetype"] = "Specify a valid issue type"
    return project, found
