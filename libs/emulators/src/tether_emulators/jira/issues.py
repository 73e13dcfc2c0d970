"""Every change to an issue, made through the API (by a client) or the control API (by a person
in Jira): each updates ``updated``, records the changelog items Jira reports, and publishes the
webhook event (``jira:issue_created``, ``jira:issue_updated``, ``jira:issue_deleted``).

Changelog items are ``{field, fieldtype, fieldId, from, fromString, to, toString}``
(https://developer.atlassian.com/cloud/jira/platform/webhooks/#example-callback-for-an-issue-related-event).
Setting an entity property changes neither ``updated`` nor fires an issue event.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tether_emulators.jira import adf, workflow
from tether_emulators.jira.errors import JiraError, bad_request
from tether_emulators.jira.fields import FieldChanges, parse_fields
from tether_emulators.jira.store import Issue, User

if TYPE_CHECKING:
    from tether_emulators.jira.emulator import JiraEmulator

JSON = dict[str, Any]
PROPERTY_KEY_MAX = 255
PROPERTY_VALUE_MAX = 32_768  # characters of the value's JSON


@dataclass(frozen=True)
class IssueEvent:
    """One issue event as webhooks report it; ``issue`` is a snapshot taken after the change
    (before it, for a deletion)."""

    webhook_event: str
    type_name: str  # issue_event_type_name
    actor: User
    issue: Issue
    items: tuple[JSON, ...]
    at: datetime


def create_issue(emu: JiraEmulator, actor: User, body: JSON) -> Issue:
    """``POST /issue``: fields, then ``properties``, then an optional ``transition``."""
    changes = parse_fields(emu.store, body.get("fields"), creating=True)
    properties = _creation_properties(body.get("properties"))
    assert changes.project is not None
    assert changes.issuetype is not None
    issue = emu.store.new_issue(changes.project, changes.issuetype, "", actor)
    _apply(issue, changes)
    issue.properties.update(properties)
    emu.publish(_event(emu, "jira:issue_created", "issue_created", actor, issue, ()))
    transition = body.get("transition")
    if isinstance(transition, dict) and transition.get("id") is not None:
        transition_issue(emu, actor, issue, str(transition["id"]))
    return issue


def edit_issue(emu: JiraEmulator, actor: User, issue: Issue, fields: object) -> None:
    """``PUT /issue/{key}``: the fields given change, the others stay."""
    changes = parse_fields(emu.store, fields, creating=False)
    items = tuple(
        _item(name, getattr(issue, name), value)
        for name, value in changes.values.items()
        if getattr(issue, name) != value
    )
    _apply(issue, changes)
    if items:
        issue.updated = emu.now()
        emu.publish(_event(emu, "jira:issue_updated", "issue_updated", actor, issue, items))


def open_transitions(emu: JiraEmulator, actor: User, issue: Issue) -> list[workflow.Transition]:
    """The transitions ``actor`` may take from the issue's status: a transition whose
    condition ``actor`` fails is not listed by ``GET /issue/{key}/transitions`` ("only the
    transitions the user can perform"), and performing it is a 400."""
    conditions = emu.store.project(issue.project_id).conditions
    return [
        t
        for t in workflow.available(issue.status_id)
        if t.id not in conditions or actor.account_id in conditions[t.id]
    ]


def transition_issue(emu: JiraEmulator, actor: User, issue: Issue, transition_id: str) -> None:
    """``POST /issue/{key}/transitions``: a 400 when the transition is not open from the
    issue's status to ``actor``."""
    found = next((t for t in open_transitions(emu, actor, issue) if t.id == transition_id), None)
    if found is None:
        raise bad_request(f"Transition id '{transition_id}' is not valid for this issue.")
    before, after = workflow.STATUSES[issue.status_id], workflow.STATUSES[found.to]
    issue.status_id = after.id
    issue.updated = emu.now()
    item = {
        "field": "status", "fieldtype": "jira", "fieldId": "status",
        "from": before.id, "fromString": before.name, "to": after.id, "toString": after.name,
    }  # fmt: skip
    emu.publish(_event(emu, "jira:issue_updated", "issue_generic", actor, issue, (item,)))


def delete_issue(emu: JiraEmulator, actor: User, issue: Issue) -> None:
    del emu.store.issues[issue.id]
    emu.publish(_event(emu, "jira:issue_deleted", "issue_deleted", actor, issue, ()))


def set_property(issue: Issue, key: str, value: Any) -> bool:
    """Set entity property ``key``; True if it is new. 400s for the documented size limits
    (https://developer.atlassian.com/cloud/jira/platform/jira-entity-properties/)."""
    _check_property(key, value)
    created = key not in issue.properties
    issue.properties[key] = value
    return created


def _check_property(key: object, value: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > PROPERTY_KEY_MAX:
        raise bad_request("The property key cannot be longer than 255 characters.")
    if len(json.dumps(value)) > PROPERTY_VALUE_MAX:
        raise bad_request("The property value cannot be longer than 32768 characters.")


def _creation_properties(value: object) -> JSON:
    if value is None:
        return {}
    if not isinstance(value, list) or not all(isinstance(p, dict) and "key" in p for p in value):
        raise JiraError(400, "Properties must be a list of objects with a key and a value.")
    for prop in value:
        _check_property(prop["key"], prop.get("value"))
    return {str(p["key"]): p.get("value") for p in value}


def _apply(issue: Issue, changes: FieldChanges) -> None:
    for name, value in changes.values.items():
        setattr(issue, name, value)


def _item(name: str, old: Any, new: Any) -> JSON:
    if name == "description":
        old, new = adf.to_wiki(old), adf.to_wiki(new)
        return {"field": name, "fieldtype": "jira", "fieldId": name,
                "from": None, "fromString": old, "to": None, "toString": new}  # fmt: skip
    if name == "duedate":
        return {"field": name, "fieldtype": "jira", "fieldId": name,
                "from": old, "fromString": old, "to": new, "toString": new}  # fmt: skip
    return {"field": name, "fieldtype": "jira", "fieldId": name,
            "from": None, "fromString": old, "to": None, "toString": new}  # fmt: skip


def _event(
    emu: JiraEmulator, kind: str, type_name: str, actor: User, issue: Issue, items: tuple[JSON, ...]
) -> IssueEvent:
    return IssueEvent(kind, type_name, actor, copy.deepcopy(issue), items, emu.now())
