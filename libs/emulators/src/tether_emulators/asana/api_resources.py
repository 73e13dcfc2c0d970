"""Users, workspaces, projects and sections under ``/api/1.0``
(https://developers.asana.com/reference/getuser, /getworkspaces, /getprojects,
/getsectionsforproject). Lists answer compact records unless ``opt_fields`` asks for more."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tether_emulators.asana.deps import Ctx, Emu, paged, wrapped
from tether_emulators.asana.errors import AsanaError, bad_request
from tether_emulators.asana.params import boolean, gid, opt_fields
from tether_emulators.asana.representation import (
    listed,
    project_record,
    section_record,
    shown,
    user_record,
    workspace_record,
)

router = APIRouter(prefix="/api/1.0")


@router.get("/users/{user_gid}")
async def get_user(user_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    if user_gid not in ("me", ctx.user.gid) and user_gid not in emu.store.users:
        raise AsanaError(404, f"Unknown object: {user_gid}")
    target = ctx.user.gid if user_gid == "me" else user_gid
    return wrapped(shown(user_record(emu.store, target), opt_fields(ctx.query)))


@router.get("/workspaces")
async def get_workspaces(request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    fields = opt_fields(ctx.query)
    items = [
        listed(workspace_record(emu.store, w.gid), fields)
        for w in emu.store.workspaces.values()
        if ctx.user.gid in w.member_gids
    ]
    return paged(request, ctx, items)


@router.get("/workspaces/{workspace_gid}")
async def get_workspace(workspace_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    workspace = emu.visible_workspace(ctx.user, workspace_gid)
    return wrapped(shown(workspace_record(emu.store, workspace.gid), opt_fields(ctx.query)))


@router.get("/projects")
async def get_projects(request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    workspace_gid = ctx.query.get("workspace")
    if workspace_gid is None and ctx.query.get("team") is None:
        # Asana needs a workspace (or team) to list projects.
        raise bad_request("workspace: Missing input")
    workspace = emu.visible_workspace(ctx.user, gid(workspace_gid, "workspace"))
    archived = ctx.query.get("archived")
    fields = opt_fields(ctx.query)
    items = [
        listed(project_record(emu.store, p.gid), fields)
        for p in emu.store.projects.values()
        if p.workspace_gid == workspace.gid
        and (archived is None or p.archived == boolean(archived, "archived"))
    ]
    return paged(request, ctx, items)


@router.get("/workspaces/{workspace_gid}/projects")
async def get_workspace_projects(
    workspace_gid: str, request: Request, ctx: Ctx, emu: Emu
) -> JSONResponse:
    workspace = emu.visible_workspace(ctx.user, workspace_gid)
    fields = opt_fields(ctx.query)
    items = [
        listed(project_record(emu.store, p.gid), fields)
        for p in emu.store.projects.values()
        if p.workspace_gid == workspace.gid
    ]
    return paged(request, ctx, items)


@router.get("/projects/{project_gid}")
async def get_project(project_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    project = emu.visible_project(ctx.user, project_gid)
    return wrapped(shown(project_record(emu.store, project.gid), opt_fields(ctx.query)))


@router.get("/projects/{project_gid}/sections")
async def get_sections(project_gid: str, request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    project = emu.visible_project(ctx.user, project_gid)
    fields = opt_fields(ctx.query)
    items = [
        listed(section_record(emu.store, s.gid), fields)
        for s in emu.store.project_sections(project.gid)
    ]
    return paged(request, ctx, items)


@router.get("/sections/{section_gid}")
async def get_section(section_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    section = emu.store.section(section_gid)
    emu.visible_project(ctx.user, section.project_gid)
    return wrapped(shown(section_record(emu.store, section.gid), opt_fields(ctx.query)))
