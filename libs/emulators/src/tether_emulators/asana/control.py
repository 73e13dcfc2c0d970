"""The control API under ``/_emulator``: not part of Asana, a remote control for tests and the
sandbox. It seeds users, tokens, OAuth apps and projects, acts "as a person in Asana", and
observes what is really there. It is neither authenticated nor rate limited, and it never
appears in the request log, so tests can count exactly the calls their client made.
Disturbances (webhook delivery, holds, outages, limits, clock) are in ``control_faults.py``.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter

from tether_emulators.asana import tasks
from tether_emulators.asana.control_models import (
    AppIn,
    PersonTaskIn,
    PlaceIn,
    ProjectIn,
    SectionIn,
    SectionMoveIn,
    TokenIn,
    UserIn,
)
from tether_emulators.asana.deps import Emu
from tether_emulators.asana.emulator import AsanaEmulator, OAuthApp
from tether_emulators.asana.errors import bad_request
from tether_emulators.asana.representation import section_record, task_record
from tether_emulators.asana.store import JSON, Credential, Task

router = APIRouter(prefix="/_emulator", tags=["emulator control"])

# A person acting in Asana's web app: a user, never an OAuth app.
_PERSON = Credential(user_gid="")


@router.get("")
@router.get("/", include_in_schema=False)
async def overview(emu: Emu) -> JSON:
    """Everything a sandbox user needs to point a client at the emulator."""
    store = emu.store
    return {
        "person": store.users[emu.person.gid].compact(),
        "users": [
            {
                **u.compact(),
                "tokens": [
                    t for t, c in store.tokens.items() if c.user_gid == u.gid and not c.is_oauth
                ],
            }
            for u in store.users.values()
        ],
        "workspaces": [w.compact() for w in store.workspaces.values()],
        "projects": [_project(emu, gid) for gid in store.projects],
        "apps": [
            {"client_id": a.client_id, "redirect_uris": list(a.redirect_uris)}
            for a in emu.apps.values()
        ],
        "webhooks": len(emu.webhooks),
    }


def _project(emu: AsanaEmulator, gid: str) -> JSON:
    sections = [section_record(emu.store, s.gid) for s in emu.store.project_sections(gid)]
    return {**emu.store.projects[gid].compact(), "sections": sections}


@router.post("/users")
async def add_user(body: UserIn, emu: Emu) -> JSON:
    token = body.token or secrets.token_hex(16)
    user = emu.add_user(body.name, token=token)
    return {**user.compact(), "email": user.email, "token": token}


@router.post("/tokens")
async def add_token(body: TokenIn, emu: Emu) -> JSON:
    if body.user not in emu.store.users:
        raise bad_request("user: Unknown user")
    token = body.token or secrets.token_hex(16)
    emu.store.tokens[token] = Credential(body.user)
    return {"token": token, "user": body.user}


@router.delete("/tokens/{token}")
async def revoke_token(token: str, emu: Emu) -> JSON:
    """Revoke a personal access token or an OAuth access token (a user deauthorizing)."""
    return {"revoked": emu.store.tokens.pop(token, None) is not None}


@router.post("/apps")
async def add_app(body: AppIn, emu: Emu) -> JSON:
    app = OAuthApp(
        body.client_id or secrets.token_hex(8),
        body.client_secret or secrets.token_hex(16),
        tuple(body.redirect_uris),
    )
    emu.apps[app.client_id] = app
    return {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uris": list(app.redirect_uris),
    }


@router.post("/projects")
async def add_project(body: ProjectIn, emu: Emu) -> JSON:
    workspace = emu.store.workspace(body.workspace) if body.workspace else emu.workspace
    project = emu.store.add_project(workspace, body.name, body.sections)
    return _project(emu, project.gid)


@router.post("/projects/{project_gid}/sections")
async def add_section(project_gid: str, body: SectionIn, emu: Emu) -> JSON:
    section = emu.store.add_section(emu.store.project(project_gid), body.name)
    return section_record(emu.store, section.gid)


@router.get("/projects/{project_gid}/tasks")
async def project_tasks(project_gid: str, emu: Emu) -> list[JSON]:
    """Every task ever in the project, trashed ones too, with every app's ``external``:
    what is really there, read without spending any token's quota."""
    emu.store.project(project_gid)
    return [_inspect(emu, t) for t in emu.store.tasks.values() if project_gid in t.project_gids()]


def _inspect(emu: AsanaEmulator, task: Task) -> JSON:
    record = task_record(emu.store, task, _PERSON)
    externals = {app: {"gid": e.gid, "data": e.data} for app, e in task.externals.items()}
    return {**record, "trashed": task.trashed_at is not None, "externals": externals}


# --- acting as a person in Asana ------------------------------------------------------------


@router.post("/tasks")
async def person_creates_task(body: PersonTaskIn, emu: Emu) -> JSON:
    task = tasks.create_task(emu, emu.actor(body.user), _PERSON, body.data())
    return _inspect(emu, task)


@router.post("/tasks/{task_gid}/edit")
async def person_edits_task(task_gid: str, body: PersonTaskIn, emu: Emu) -> JSON:
    """Edit (rename, describe, set a due date, complete...) as someone using Asana would."""
    task = emu.store.task(task_gid)
    tasks.update_task(emu, emu.actor(body.user), _PERSON, task, body.data())
    return _inspect(emu, task)


@router.post("/tasks/{task_gid}/section")
async def person_moves_task(task_gid: str, body: SectionMoveIn, emu: Emu) -> JSON:
    """Drag the task to another section of a project it is in (no ``modified_at`` change)."""
    task = emu.store.task(task_gid)
    tasks.move_to_section(emu, emu.actor(body.user), task, emu.store.section(body.section))
    return _inspect(emu, task)


@router.post("/tasks/{task_gid}/projects")
async def person_adds_project(task_gid: str, body: PlaceIn, emu: Emu) -> JSON:
    task = emu.store.task(task_gid)
    section = emu.store.section(body.section) if body.section else None
    project = emu.store.project(body.project)
    tasks.add_to_project(emu, emu.actor(body.user), task, project, section)
    return _inspect(emu, task)


@router.delete("/tasks/{task_gid}/projects/{project_gid}")
async def person_removes_project(
    task_gid: str, project_gid: str, emu: Emu, user: str | None = None
) -> JSON:
    task = emu.store.task(task_gid)
    tasks.remove_from_project(emu, emu.actor(user), task, emu.store.project(project_gid))
    return _inspect(emu, task)


@router.delete("/tasks/{task_gid}")
async def person_trashes_task(task_gid: str, emu: Emu, user: str | None = None) -> JSON:
    task = emu.store.task(task_gid)
    tasks.delete_task(emu, emu.actor(user), task)
    return _inspect(emu, task)


@router.post("/tasks/{task_gid}/undelete")
async def person_restores_task(task_gid: str, emu: Emu, user: str | None = None) -> JSON:
    task = emu.store.tasks.get(task_gid)
    if task is None or task.trashed_at is None:
        raise bad_request("task: Not in the trash")
    tasks.undelete_task(emu, emu.actor(user), task)
    return _inspect(emu, task)
