"""Tasks under ``/api/1.0`` (https://developers.asana.com/reference/tasks and the OpenAPI
document): create, read, update, trash, list, and membership in projects and sections."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tether_emulators.asana import tasks
from tether_emulators.asana.deps import Ctx, Emu, paged, wrapped
from tether_emulators.asana.emulator import AsanaEmulator
from tether_emulators.asana.errors import bad_request
from tether_emulators.asana.gate import RequestContext
from tether_emulators.asana.params import gid, instant, opt_fields
from tether_emulators.asana.representation import listed, shown, task_record
from tether_emulators.asana.store import Task

router = APIRouter(prefix="/api/1.0")


def _answer(emu: AsanaEmulator, ctx: RequestContext, task: Task, status: int = 200) -> JSONResponse:
    record = task_record(emu.store, task, ctx.credential)
    return wrapped(shown(record, opt_fields(ctx.query)), status)


@router.post("/tasks")
async def create_task(ctx: Ctx, emu: Emu) -> JSONResponse:
    task = tasks.create_task(emu, ctx.user, ctx.credential, ctx.data)
    return _answer(emu, ctx, task, 201)


@router.get("/tasks/{task_gid}")
async def get_task(task_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    return _answer(emu, ctx, emu.visible_task(ctx.user, ctx.credential, task_gid))


@router.put("/tasks/{task_gid}")
async def update_task(task_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    task = emu.visible_task(ctx.user, ctx.credential, task_gid)
    tasks.update_task(emu, ctx.user, ctx.credential, task, ctx.data)
    return _answer(emu, ctx, task)


@router.delete("/tasks/{task_gid}")
async def delete_task(task_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    tasks.delete_task(emu, ctx.user, emu.visible_task(ctx.user, ctx.credential, task_gid))
    return wrapped({})


@router.get("/tasks")
async def get_tasks(request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    query = ctx.query
    if query.get("project") is not None:
        project = emu.visible_project(ctx.user, gid(query["project"], "project"))
        found = [t for t in _live(emu) if project.gid in t.project_gids()]
    elif query.get("section") is not None:
        found = _in_section(emu, ctx, gid(query["section"], "section"))
    elif query.get("workspace") is not None and query.get("assignee") is not None:
        found = []  # the emulator does not model assignees: nobody has assigned tasks
    else:
        raise bad_request(
            "You must specify a project or tag if you do not specify assignee and workspace"
        )
    return paged(request, ctx, _filtered(emu, ctx, found))


@router.get("/projects/{project_gid}/tasks")
async def get_project_tasks(project_gid: str, request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    project = emu.visible_project(ctx.user, project_gid)
    found = [t for t in _live(emu) if project.gid in t.project_gids()]
    return paged(request, ctx, _filtered(emu, ctx, found))


@router.get("/sections/{section_gid}/tasks")
async def get_section_tasks(section_gid: str, request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    return paged(request, ctx, _filtered(emu, ctx, _in_section(emu, ctx, section_gid)))


def _live(emu: AsanaEmulator) -> list[Task]:
    return [task for task in emu.store.tasks.values() if task.trashed_at is None]


def _in_section(emu: AsanaEmulator, ctx: RequestContext, section_gid: str) -> list[Task]:
    section = emu.store.section(section_gid)
    emu.visible_project(ctx.user, section.project_gid)
    return [t for t in _live(emu) if (section.project_gid, section.gid) in t.memberships]


def _filtered(
    emu: AsanaEmulator, ctx: RequestContext, found: list[Task]
) -> list[dict[str, object]]:
    """``modified_since`` and ``completed_since`` ("incomplete, or completed since")."""
    modified_since = _since(emu, ctx, "modified_since")
    completed_since = _since(emu, ctx, "completed_since")
    fields = opt_fields(ctx.query)
    return [
        listed(task_record(emu.store, t, ctx.credential), fields)
        for t in found
        if (modified_since is None or t.modified_at >= modified_since)
        and (
            completed_since is None
            or not t.completed
            or (t.completed_at is not None and t.completed_at >= completed_since)
        )
    ]


def _since(emu: AsanaEmulator, ctx: RequestContext, name: str) -> datetime | None:
    value = ctx.query.get(name)
    if value is None:
        return None
    # ``completed_since=now``: only incomplete tasks.
    return emu.now() if value == "now" else instant(value, name)


@router.post("/tasks/{task_gid}/addProject")
async def add_project(task_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    task = emu.visible_task(ctx.user, ctx.credential, task_gid)
    project = emu.visible_project(ctx.user, gid(ctx.data.get("project"), "project"))
    section_gid = ctx.data.get("section")
    section = emu.store.section(gid(section_gid, "section")) if section_gid else None
    tasks.add_to_project(emu, ctx.user, task, project, section)
    return wrapped({})


@router.post("/tasks/{task_gid}/removeProject")
async def remove_project(task_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    task = emu.visible_task(ctx.user, ctx.credential, task_gid)
    project = emu.visible_project(ctx.user, gid(ctx.data.get("project"), "project"))
    tasks.remove_from_project(emu, ctx.user, task, project)
    return wrapped({})


@router.post("/sections/{section_gid}/addTask")
async def add_task_to_section(section_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    section = emu.store.section(section_gid)
    emu.visible_project(ctx.user, section.project_gid)
    task = emu.visible_task(ctx.user, ctx.credential, gid(ctx.data.get("task"), "task"))
    tasks.move_to_section(emu, ctx.user, task, section)
    return wrapped({})
