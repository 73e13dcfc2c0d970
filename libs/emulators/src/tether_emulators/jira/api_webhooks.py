"""Webhook registration: dynamic webhooks of OAuth apps under ``/rest/api/3/webhook``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-webhooks/) and admin
webhooks under ``/rest/webhooks/1.0/webhook``
(https://developer.atlassian.com/cloud/jira/platform/webhooks/#registering-a-webhook-using-the-rest-api).

- Dynamic: only apps may call them; Basic auth gets a 403 "Only apps can access this
  resource.". Registration answers 200 with one result per webhook, ``createdWebhookId`` or
  ``errors``; webhooks expire after 30 days (emulator clock) unless refreshed; refresh and
  delete silently ignore ids the app does not own. One URL per app.
- Admin: for users with Administer Jira (others: 403; at most 100 per site), optionally with a
  ``secret`` that signs deliveries; they do not expire.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from tether_emulators.jira.deps import DEFAULT_PAGE, JSON, Ctx, Emu, MaxResults, StartAt, page_bean
from tether_emulators.jira.emulator import JiraEmulator
from tether_emulators.jira.errors import JiraError, bad_request, forbidden
from tether_emulators.jira.gate import RequestContext
from tether_emulators.jira.jql import parse
from tether_emulators.jira.match import check
from tether_emulators.jira.webhook_model import (
    ISSUE_EVENTS,
    LIFETIME,
    Webhook,
    dynamic_filter_problems,
)

router = APIRouter()
ONLY_APPS = "Only apps can access this resource."
ADMIN_WEBHOOKS_PER_SITE = 100


def _app_of(ctx: RequestContext, emu: JiraEmulator) -> tuple[str, str]:
    if ctx.app is None or ctx.app not in emu.apps:
        raise forbidden(ONLY_APPS)
    return ctx.app, emu.apps[ctx.app].client_secret


def _owned(emu: JiraEmulator, app: str, now: datetime) -> list[Webhook]:
    return [
        w for w in emu.webhooks.values()
        if w.kind == "dynamic" and w.app == app and not w.expired(now)
    ]  # fmt: skip


@router.post("/rest/api/3/webhook")
async def register(ctx: Ctx, emu: Emu) -> JSON:
    app, secret = _app_of(ctx, emu)
    body = ctx.json()
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise bad_request("The webhook URL is required.")
    url, now = body["url"], emu.now()
    urls = {w.url for w in _owned(emu, app, now)}
    results: list[JSON] = []
    for spec in body.get("webhooks") or []:
        spec = spec if isinstance(spec, dict) else {}
        events = spec.get("events")
        problems = dynamic_filter_problems(spec.get("jqlFilter"), emu.reader(ctx.user))
        if not isinstance(events, list) or not events or not set(events) <= ISSUE_EVENTS:
            problems.append(f"Unsupported events: {events}")
            events = []
        if urls - {url}:
            problems.append("Only one URL per app is allowed.")
        if problems:
            results.append({"errors": problems})
            continue
        jql = str(spec["jqlFilter"])
        webhook = Webhook(
            emu.next_webhook_id() + 10000, "dynamic", url, list(events), jql, parse(jql),
            ctx.user.account_id, app, secret, expires_at=now + LIFETIME,
        )  # fmt: skip
        emu.webhooks[str(webhook.id)] = webhook
        results.append({"createdWebhookId": webhook.id})
    return {"webhookRegistrationResult": results}


@router.get("/rest/api/3/webhook")
async def list_dynamic(
    ctx: Ctx, emu: Emu, start_at: StartAt = 0, max_results: MaxResults = DEFAULT_PAGE
) -> JSON:
    app, _ = _app_of(ctx, emu)
    values = [w.dynamic_json() for w in _owned(emu, app, emu.now())]
    return page_bean(values, start_at, max_results)


def _ids(ctx: RequestContext) -> set[str]:
    body = ctx.json()
    ids = body.get("webhookIds") if isinstance(body, dict) else None
    if not isinstance(ids, list):
        raise bad_request("webhookIds must be a list of webhook ids.")
    return {str(i) for i in ids}


@router.delete("/rest/api/3/webhook")
async def delete_dynamic(ctx: Ctx, emu: Emu) -> Response:
    app, _ = _app_of(ctx, emu)
    for ident in _ids(ctx):
        webhook = emu.webhooks.get(ident)
        if webhook is not None and webhook.kind == "dynamic" and webhook.app == app:
            del emu.webhooks[ident]
    return Response(status_code=202)


@router.put("/rest/api/3/webhook/refresh")
async def refresh(ctx: Ctx, emu: Emu) -> JSON:
    """Extend the app's webhooks among ``webhookIds`` by 30 days; others are ignored."""
    app, _ = _app_of(ctx, emu)
    now = emu.now()
    expires = now + LIFETIME
    owned = {str(w.id): w for w in _owned(emu, app, now)}
    for ident in _ids(ctx) & owned.keys():
        owned[ident].expires_at = expires
    return {"expirationDate": int(expires.timestamp() * 1000)}


# --- admin webhooks ---------------------------------------------------------------------


def _admin(ctx: RequestContext) -> None:
    if not ctx.user.admin:
        raise forbidden("You must have the Administer Jira permission to manage webhooks.")


@router.post("/rest/webhooks/1.0/webhook")
async def register_admin(ctx: Ctx, emu: Emu) -> JSONResponse:
    _admin(ctx)
    body = ctx.json()
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise bad_request("The webhook URL is required.")
    if sum(w.kind == "admin" for w in emu.webhooks.values()) >= ADMIN_WEBHOOKS_PER_SITE:
        raise bad_request("A site has at most 100 webhooks.")
    events = body.get("events")
    if not isinstance(events, list) or not events or not set(events) <= ISSUE_EVENTS:
        raise bad_request(f"Unsupported events: {events}")
    filters = body.get("filters") if isinstance(body.get("filters"), dict) else {}
    jql = str((filters or {}).get("issue-related-events-section") or "")
    query = parse(jql)
    check(query, emu.reader(ctx.user), bounded=False)
    secret = body.get("secret")
    webhook = Webhook(
        emu.next_webhook_id(), "admin", body["url"], list(events), jql, query,
        ctx.user.account_id, None, str(secret) if secret else None,
        name=str(body.get("name") or ""), last_updated=emu.now(),
    )  # fmt: skip
    emu.webhooks[str(webhook.id)] = webhook
    return JSONResponse(webhook.admin_json(emu.base), status_code=201)


@router.get("/rest/webhooks/1.0/webhook")
async def list_admin(ctx: Ctx, emu: Emu) -> list[JSON]:
    _admin(ctx)
    return [w.admin_json(emu.base) for w in emu.webhooks.values() if w.kind == "admin"]


@router.delete("/rest/webhooks/1.0/webhook/{webhook_id}")
async def delete_admin(webhook_id: str, ctx: Ctx, emu: Emu) -> Response:
    _admin(ctx)
    webhook = emu.webhooks.get(webhook_id)
    if webhook is None or webhook.kind != "admin":
        raise JiraError(404, f"Webhook {webhook_id} does not exist.")
    del emu.webhooks[webhook_id]
    return Response(status_code=204)
