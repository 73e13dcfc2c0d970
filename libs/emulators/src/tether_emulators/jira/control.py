"""The control API under ``/_emulator``: not part of Jira, a remote control for tests and the
sandbox. It seeds users (with their time zone, admin flag and API tokens), OAuth apps and
projects, acts "as a person in Jira" (create, edit, transition, delete), and shows what is
really there. It is neither authenticated nor rate limited and never in the request log.
Disturbances (outages, limits, clock, reset) are ``control_faults.py``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter

from tether_emulators.jira import adf, issues, workflow
from tether_emulators.jira.control_models import (
    AppIn,
    ConditionIn,
    PersonEditIn,
    PersonIssueIn,
    PersonTransitionIn,
    ProjectIn,
    TokenIn,
    UserIn,
)
from tether_emulators.jira.deps import JSON, AccountId, Emu
from tether_emulators.jira.emulator import JiraEmulator, OAuthApp
from tether_emulators.jira.errors import JiraError
from tether_emulators.jira.representation import issue_json
from tether_emulators.jira.store import Issue, User

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


def _user(emu: JiraEmulator, user: User) -> JSON:
    tokens = [t for (email, t), who in emu.store.tokens.items() if who == user.account_id]
    return {**user.compact(emu.base), "emailAddress": user.email, "admin": user.admin,
            "apiTokens": tokens}  # fmt: skip


@router.get("")
@router.get("/", include_in_schema=False)
async def overview(emu: Emu) -> JSON:
    """Everything a sandbox user needs to point a client at the emulator."""
    site = emu.site
    return {
        "site": {"name": site.name, "url": site.url, "cloudId": site.cloud_id},
        "person": emu.person.account_id,
        "users": [_user(emu, u) for u in emu.store.users.values()],
        "projects": [_project(emu, p.key) for p in emu.store.projects.values()],
        "statuses": [s.to_json(emu.base) for s in workflow.STATUSES.values()],
        "apps": [
            {"client_id": a.client_id, "redirect_uris": list(a.redirect_uris)}
            for a in emu.apps.values()
        ],
        "webhooks": len(emu.webhooks),
    }


def _project(emu: JiraEmulator, key: str) -> JSON:
    project = emu.store.project(key)
    types = [t.to_json(emu.base) for t in project.issue_types]
    return {**project.compact(emu.base), "issueTypes": types}


@router.post("/users")
async def add_user(body: UserIn, emu: Emu) -> JSON:
    slug = "".join(c for c in body.display_name.lower() if c.isalnum()) or "user"
    email = body.email or f"{slug}@jira.test"
    user = emu.add_user(body.display_name, email, body.time_zone, body.admin)
    emu.store.tokens[(email, body.api_token or secrets.token_urlsafe(18))] = user.account_id
    return _user(emu, user)


@router.post("/tokens")
async def add_token(body: TokenIn, emu: Emu) -> JSON:
    user = emu.actor(body.account_id)
    token = body.api_token or secrets.token_urlsafe(18)
    emu.store.tokens[(user.email, token)] = user.account_id
    return {"accountId": user.account_id, "emailAddress": user.email, "apiToken": token}


@router.delete("/tokens/{token}")
async def revoke_token(token: str, emu: Emu) -> JSON:
    """Revoke an API token, or an OAuth access or refresh token (a user deauthorizing)."""
    keys = [k for k in emu.store.tokens if k[1] == token]
    for key in keys:
        del emu.store.tokens[key]
    access = emu.oauth.access_tokens.pop(token, None)
    refresh = emu.oauth.refresh_tokens.get(token)
    if refresh is not None:
        refresh.chain.revoked = True
    return {"revoked": bool(keys) or access is not None or refresh is not None}


@router.post("/apps")
async def add_app(body: AppIn, emu: Emu) -> JSON:
    app = OAuthApp(
        body.client_id or secrets.token_hex(16),
        body.client_secret or secrets.token_urlsafe(32),
        tuple(body.redirect_uris),
    )
    emu.apps[app.client_id] = app
    return {"client_id": app.client_id, "client_secret": app.client_secret,
            "redirect_uris": list(app.redirect_uris)}  # fmt: skip


@router.post("/projects")
async def add_project(body: ProjectIn, emu: Emu) -> JSON:
    project = emu.store.add_project(body.key, body.name)
    return _project(emu, project.key)


@router.put("/projects/{key}/transitions/{transition_id}/condition")
async def set_transition_condition(
    key: str, transition_id: str, body: ConditionIn, emu: Emu
) -> JSON:
    """An administrator edits the project's workflow: only ``account_ids`` may take the
    transition from now on (``null``: the condition is removed, everyone may)."""
    project = emu.store.project(key)
    if transition_id not in {t.id for t in workflow.TRANSITIONS}:
        raise JiraError(404, f"The workflow has no transition {transition_id}.")
    if body.account_ids is None:
        project.conditions.pop(transition_id, None)
    else:
        project.conditions[transition_id] = frozenset(body.account_ids)
    return {"transition": transition_id, "account_ids": body.account_ids}


def _inspect(emu: JiraEmulator, issue: Issue) -> JSON:
    return {**issue_json(emu.store, issue, emu.base), "properties": dict(issue.properties)}


@router.get("/projects/{key}/issues")
async def project_issues(key: str, emu: Emu) -> list[JSON]:
    """Every issue of the project with its properties, read without spending any limit."""
    project = emu.store.project(key)
    return [_inspect(emu, i) for i in emu.store.issues.values() if i.project_id == project.id]


# --- acting as a person in Jira -------------------------------------------------------------


def _description(value: Any) -> Any:
    return adf.plain_document(value) if isinstance(value, str) else value


@router.post("/issues")
async def person_creates_issue(body: PersonIssueIn, emu: Emu) -> JSON:
    fields: JSON = {"project": {"key": body.project}, "issuetype": {"name": body.issuetype},
                    "summary": body.summary}  # fmt: skip
    if body.description is not None:
        fields["description"] = _description(body.description)
    if body.duedate is not None:
        fields["duedate"] = body.duedate
    issue = issues.create_issue(emu, emu.actor(body.account_id), {"fields": fields})
    return _inspect(emu, issue)


@router.post("/issues/{key}/edit")
async def person_edits_issue(key: str, body: PersonEditIn, emu: Emu) -> JSON:
    issue = emu.store.issue(key)
    fields = dict(body.fields)
    if "description" in fields:
        fields["description"] = _description(fields["description"])
    issues.edit_issue(emu, emu.actor(body.account_id), issue, fields)
    return _inspect(emu, issue)


@router.post("/issues/{key}/transition")
async def person_transitions_issue(key: str, body: PersonTransitionIn, emu: Emu) -> JSON:
    issue = emu.store.issue(key)
    transition_id = body.id
    if transition_id is None:
        wanted = workflow.status_named(body.status or "")
        open_now = issues.open_transitions(emu, emu.actor(body.account_id), issue)
        found = next((t for t in open_now if wanted and t.to == wanted.id), None)
        if found is None:
            raise JiraError(400, f"No transition from this status reaches '{body.status}'.")
        transition_id = found.id
    issues.transition_issue(emu, emu.actor(body.account_id), issue, transition_id)
    return _inspect(emu, issue)


@router.delete("/issues/{key}")
async def person_deletes_issue(key: str, emu: Emu, account_id: AccountId = None) -> JSON:
    issue = emu.store.issue(key)
    issues.delete_issue(emu, emu.actor(account_id), issue)
    return {"deleted": issue.key}
