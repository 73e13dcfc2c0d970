"""Atlassian's OAuth 2.0 (3LO) endpoints (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/),
served at the emulator's root in place of ``auth.atlassian.com`` and ``api.atlassian.com``:

1. ``GET /authorize?audience=api.atlassian.com&client_id&scope&redirect_uri&state
   &response_type=code&prompt=consent``: the consent page. The emulator has no login, so the page
   offers to consent as any user; consenting redirects to ``redirect_uri?code&state``. Tests
   skip the page with ``POST /_emulator/oauth/authorize``.
2. ``POST /oauth/token`` (JSON, or a form): ``authorization_code`` with ``client_id``,
   ``client_secret``, ``code``, ``redirect_uri``; ``refresh_token`` with ``client_id``,
   ``client_secret``, ``refresh_token``. Rotation and its failures: ``oauth_state.py``.
3. ``GET /oauth/token/accessible-resources`` (Bearer): the sites granted, each with the cloud
   ``id`` that API calls put in ``/ex/jira/{cloudId}``.
"""

from __future__ import annotations

import hmac
import json
from html import escape
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from tether_emulators.common.oauth import OAuthFailure, answer_oauth_failures, with_query
from tether_emulators.jira.deps import JSON, Emu
from tether_emulators.jira.emulator import JiraEmulator, OAuthApp

router = APIRouter(tags=["Atlassian OAuth 2.0 (3LO)"])
control_router = APIRouter(prefix="/_emulator/oauth", tags=["emulator control"])


def _app(emu: JiraEmulator, client_id: str | None, redirect_uri: str | None) -> OAuthApp:
    app = emu.apps.get(client_id or "")
    if app is None:
        raise OAuthFailure("invalid_client", "Unknown client_id.", 401)
    if redirect_uri is not None and app.redirect_uris and redirect_uri not in app.redirect_uris:
        raise OAuthFailure("invalid_request", "The redirect_uri does not match the app's.", 400)
    return app


def _consent(emu: JiraEmulator, params: dict[str, str], account_id: str) -> str:
    app = _app(emu, params.get("client_id"), params.get("redirect_uri"))
    if params.get("response_type", "code") != "code":
        raise OAuthFailure("unsupported_response_type", "Only response_type=code.", 400)
    if account_id not in emu.store.users:
        raise OAuthFailure("invalid_request", "Unknown user.", 400)
    redirect_uri = params.get("redirect_uri") or (app.redirect_uris or ("",))[0]
    return emu.oauth.authorize(app.client_id, redirect_uri, account_id, params.get("scope", ""))


@router.get("/authorize", include_in_schema=False)
async def authorize_page(request: Request, emu: Emu) -> Response:
    params = dict(request.query_params)
    _app(emu, params.get("client_id"), params.get("redirect_uri"))
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    buttons = "".join(
        f'<button name="account_id" value="{escape(u.account_id)}">Accept as '
        f"{escape(u.display_name)}</button> "
        for u in emu.store.users.values()
    )
    scopes = escape(params.get("scope", ""))
    page = f"""<!doctype html><html><head><title>Authorize access</title></head><body>
<h1>This app is requesting access to your Atlassian account</h1><p>Scopes: {scopes}</p>
<form method="post" action="/authorize">{hidden}{buttons}
<button name="deny" value="1">Cancel</button></form>
<p><small>Jira emulator: there is no login, so choose whom to consent as.</small></p>
</body></html>"""
    return HTMLResponse(page)


@router.post("/authorize", include_in_schema=False)
async def authorize_decision(request: Request, emu: Emu) -> Response:
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    redirect_uri = form.get("redirect_uri", "")
    state = {"state": form["state"]} if "state" in form else {}
    if form.get("deny") or not form.get("account_id"):
        _app(emu, form.get("client_id"), redirect_uri)
        return RedirectResponse(with_query(redirect_uri, {"error": "access_denied", **state}), 303)
    code = _consent(emu, form, form["account_id"])
    return RedirectResponse(with_query(redirect_uri, {"code": code, **state}), 303)


async def _token_form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OAuthFailure("invalid_request", "The body must be a JSON object.", 400)
        return {k: str(v) for k, v in body.items() if v is not None}
    return dict(parse_qsl(raw.decode(), keep_blank_values=True))


@router.post("/oauth/token", include_in_schema=False)
async def token(request: Request, emu: Emu) -> Response:
    form = await _token_form(request)
    app = emu.apps.get(form.get("client_id", ""))
    if app is None or not hmac.compare_digest(form.get("client_secret", ""), app.client_secret):
        raise OAuthFailure("access_denied", "Unauthorized", 401)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        answer = emu.oauth.exchange(app.client_id, form.get("code", ""), form.get("redirect_uri"))
    elif grant_type == "refresh_token":
        answer = emu.oauth.refresh(app.client_id, form.get("refresh_token", ""))
    else:
        raise OAuthFailure("unsupported_grant_type", f"Unsupported grant_type: {grant_type}", 400)
    return JSONResponse(answer)


@router.get("/oauth/token/accessible-resources", include_in_schema=False)
async def accessible_resources(request: Request, emu: Emu) -> Response:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    access = emu.oauth.access(bearer.strip()) if scheme.lower() == "bearer" else None
    if access is None:
        return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
    site = emu.site
    resource = {
        "id": site.cloud_id,
        "url": site.url,
        "name": site.name,
        "scopes": list(access.scopes),
        "avatarUrl": f"{site.url}/images/site-avatar.png",
    }
    return JSONResponse([resource])


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str
    redirect_uri: str
    account_id: str
    scope: str = "read:jira-work write:jira-work manage:jira-webhook offline_access"
    state: str | None = None


@control_router.post("/authorize")
async def consent_as(body: ConsentIn, emu: Emu) -> JSON:
    """Consent as ``account_id``, as the page would: the code and the URL the browser gets."""
    params = {k: v for k, v in body.model_dump().items() if v is not None and k != "account_id"}
    code = _consent(emu, params, body.account_id)
    state = {"state": body.state} if body.state is not None else {}
    return {"code": code, "redirect": with_query(body.redirect_uri, {"code": code, **state})}


def install_oauth(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(control_router)
    answer_oauth_failures(app)
