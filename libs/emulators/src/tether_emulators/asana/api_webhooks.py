"""Webhooks and the events API under ``/api/1.0``
(https://developers.asana.com/reference/createwebhook, /getwebhooks, /deletewebhook,
/getevents). The handshake happens inside ``POST /webhooks`` (webhooks.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tether_emulators.asana.deps import Ctx, Emu, paged, wrapped
from tether_emulators.asana.emulator import AsanaEmulator
from tether_emulators.asana.errors import bad_request, unknown_object
from tether_emulators.asana.gate import RequestContext
from tether_emulators.asana.params import gid, opt_fields
from tether_emulators.asana.representation import listed
from tether_emulators.asana.store import JSON, asana_time
from tether_emulators.asana.webhook_model import Webhook, check_target, webhook_filters

router = APIRouter(prefix="/api/1.0")


def _watchable(emu: AsanaEmulator, ctx: RequestContext, resource_gid: str) -> tuple[JSON, str]:
    """The resource a webhook or an event stream may watch: a project or a task (workspace
    streams need service accounts and filters, which the emulator does not model)."""
    store = emu.store
    if resource_gid in store.projects:
        project = emu.visible_project(ctx.user, resource_gid)
        return project.compact(), project.workspace_gid
    task = emu.visible_task(ctx.user, ctx.credential, resource_gid)
    return task.compact(), task.workspace_gid


@router.post("/webhooks")
async def create_webhook(ctx: Ctx, emu: Emu) -> JSONResponse:
    data = ctx.data
    resource, workspace_gid = _watchable(emu, ctx, gid(data.get("resource"), "resource"))
    target = check_target(data.get("target"), allow_local=emu.allow_local_targets)
    filters = webhook_filters(data.get("filters"))
    # The handshake runs while this request is open: the receiver must answer it meanwhile.
    secret = await emu.dispatcher.handshake(target)
    webhook = Webhook(
        gid=emu.store.new_gid(),
        resource={k: resource[k] for k in ("gid", "resource_type", "name")},
        target=target,
        filters=filters,
        user_gid=ctx.user.gid,
        app=ctx.credential.app,
        workspace_gid=workspace_gid,
        secret=secret,
        created_at=asana_time(emu.now()),
    )
    emu.webhooks[webhook.gid] = webhook
    emu.dispatcher.heartbeat(webhook)
    body = {"data": _shown(webhook, ctx), "X-Hook-Secret": secret}
    return JSONResponse(body, status_code=201)


def _shown(webhook: Webhook, ctx: RequestContext) -> JSON:
    fields = opt_fields(ctx.query)
    return webhook.to_json() if fields is None else listed(webhook.to_json(), fields)


def _owned(emu: AsanaEmulator, ctx: RequestContext, webhook_gid: str) -> Webhook:
    """Webhooks are the registering user's and app's own: anyone else gets a 404."""
    webhook = emu.webhooks.get(webhook_gid)
    if webhook is None or (webhook.user_gid, webhook.app) != (ctx.user.gid, ctx.credential.app):
        raise unknown_object(webhook_gid)
    return webhook


@router.get("/webhooks")
async def get_webhooks(request: Request, ctx: Ctx, emu: Emu) -> JSONResponse:
    workspace = emu.visible_workspace(ctx.user, gid(ctx.query.get("workspace"), "workspace"))
    resource = ctx.query.get("resource")
    found = [
        w.to_json()
        for w in emu.webhooks.values()
        if (w.user_gid, w.app) == (ctx.user.gid, ctx.credential.app)
        and w.workspace_gid == workspace.gid
        and (resource is None or w.resource["gid"] == resource)
    ]
    fields = opt_fields(ctx.query)
    items = found if fields is None else [listed(w, fields) for w in found]
    return paged(request, ctx, items)


@router.get("/webhooks/{webhook_gid}")
async def get_webhook(webhook_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    return wrapped(_shown(_owned(emu, ctx, webhook_gid), ctx))


@router.delete("/webhooks/{webhook_gid}")
async def delete_webhook(webhook_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    webhook = _owned(emu, ctx, webhook_gid)
    del emu.webhooks[webhook.gid]
    return wrapped({})


@router.get("/events")
async def get_events(ctx: Ctx, emu: Emu) -> JSONResponse:
    resource_gid = ctx.query.get("resource")
    if not resource_gid:
        raise bad_request("resource: Missing input")
    resource, _ = _watchable(emu, ctx, resource_gid)
    return JSONResponse(emu.events.read(resource["gid"], ctx.query.get("sync")))


@router.get("/projects/{project_gid}/events")
async def get_project_events(project_gid: str, ctx: Ctx, emu: Emu) -> JSONResponse:
    """ "A GET request to /[path_to_resource]/events can be made in lieu of ``resource``."""
    resource, _ = _watchable(emu, ctx, project_gid)
    return JSONResponse(emu.events.read(resource["gid"], ctx.query.get("sync")))
