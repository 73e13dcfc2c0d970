"""Asana's OAuth 2.0 authorization code grant with PKCE (https://developers.asana.com/docs/oauth):

1. ``GET /-/oauth_authorize?client_id&redirect_uri&response_type=code&state&code_challenge
   &code_challenge_method=S256&scope``: the consent page. The emulator has no login, so the page
   offers to consent as any user; consenting redirects to ``redirect_uri?code=...&state=...``.
   Tests skip the page with ``POST /_emulator/oauth/authorize``.
2. ``POST /-/oauth_token`` (form): ``grant_type=authorization_code`` with ``client_id``,
   ``client_secret``, ``redirect_uri``, ``code`` and ``code_verifier`` answers
   ``{access_token, expires_in: 3600, token_type: "bearer", refresh_token, data: {id, gid,
   name, email}}``; ``grant_type=refresh_token`` answers the same without a new
   ``refresh_token``. Failures are OAuth's ``{"error", "error_description"}``.
3. ``POST /-/oauth_revoke`` (form ``client_id``, ``client_secret``, ``token`` = the refresh
   token) ends the grant and every access token made from it.

Access tokens expire 3600 s after issue on the emulator's clock (``/_emulator/clock``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Annotated, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from tether_emulators.asana.emulator import AsanaEmulator, OAuthApp
from tether_emulators.asana.store import JSON, Credential
from tether_emulators.common.oauth import OAuthFailure, answer_oauth_failures, with_query

ACCESS_TOKEN_LIFETIME = timedelta(seconds=3600)
CODE_LIFETIME = timedelta(minutes=10)

router = APIRouter(tags=["Asana OAuth 2.0"])
control_router = APIRouter(prefix="/_emulator/oauth", tags=["emulator control"])


@dataclass
class Authorization:
    """A consented request waiting for its code to be exchanged."""

    client_id: str
    redirect_uri: str
    user_gid: str
    code_challenge: str | None
    issued_at: datetime


@dataclass
class Grant:
    user_gid: str
    client_id: str
    access_tokens: set[str] = field(default_factory=set)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OAuthProvider:
    def __init__(self, emulator: AsanaEmulator) -> None:
        self.emulator = emulator
        self.codes: dict[str, Authorization] = {}
        self.grants: dict[str, Grant] = {}  # by refresh token

    def app(self, client_id: str | None, redirect_uri: str | None) -> OAuthApp:
        """The registered app; the redirect URI must be one it registered exactly."""
        app = self.emulator.apps.get(client_id or "")
        if app is None:
            raise OAuthFailure("invalid_client", "Unknown client_id.", 401)
        if redirect_uri is not None and app.redirect_uris and redirect_uri not in app.redirect_uris:
            raise OAuthFailure("invalid_request", "The redirect_uri does not match the app's.")
        return app

    def consent(self, params: dict[str, str], user_gid: str) -> str:
        app = self.app(params.get("client_id"), params.get("redirect_uri"))
        if params.get("response_type") != "code":
            raise OAuthFailure("unsupported_response_type", "Only response_type=code.")
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method") != "S256":
            raise OAuthFailure("invalid_request", "code_challenge_method must be S256.")
        if user_gid not in self.emulator.store.users:
            raise OAuthFailure("invalid_request", "Unknown user.")
        code = secrets.token_urlsafe(24)
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris or ("",))[0]
        self.codes[code] = Authorization(
            app.client_id, redirect_uri, user_gid, challenge, self.emulator.now()
        )
        return code

    def token(self, form: dict[str, str]) -> JSON:
        app = self.app(form.get("client_id"), None)
        if not hmac.compare_digest(form.get("client_secret", ""), app.client_secret):
            raise OAuthFailure("invalid_client", "The client_secret is wrong.", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange(app, form)
        if grant_type == "refresh_token":
            grant = self.grants.get(form.get("refresh_token", ""))
            if grant is None or grant.client_id != app.client_id:
                raise OAuthFailure("invalid_grant", "The refresh token is invalid or revoked.")
            # A refresh answers no new refresh token: the old one stays valid.
            return self._issue(grant, refresh_token=None)
        raise OAuthFailure("unsupported_grant_type", f"Unsupported grant_type: {grant_type}")

    def _exchange(self, app: OAuthApp, form: dict[str, str]) -> JSON:
        pending = self.codes.pop(form.get("code", ""), None)  # single use
        if pending is None or pending.client_id != app.client_id:
            raise OAuthFailure("invalid_grant", "The code is invalid or was already used.")
        if self.emulator.now() - pending.issued_at > CODE_LIFETIME:
            raise OAuthFailure("invalid_grant", "The code has expired.")
        if form.get("redirect_uri", pending.redirect_uri) != pending.redirect_uri:
            raise OAuthFailure("invalid_grant", "The redirect_uri does not match.")
        if pending.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not hmac.compare_digest(s256(verifier), pending.code_challenge):
                raise OAuthFailure("invalid_grant", "The code_verifier does not match.")
        refresh_token = secrets.token_urlsafe(32)
        grant = self.grants[refresh_token] = Grant(pending.user_gid, app.client_id)
        return self._issue(grant, refresh_token=refresh_token)

    def _issue(self, grant: Grant, *, refresh_token: str | None) -> JSON:
        access_token = secrets.token_urlsafe(32)
        owner = next((r for r, g in self.grants.items() if g is grant), None)
        self.emulator.store.tokens[access_token] = Credential(
            grant.user_gid,
            app=grant.client_id,
            expires_at=self.emulator.now() + ACCESS_TOKEN_LIFETIME,
            refresh_token=owner,
        )
        grant.access_tokens.add(access_token)
        user = self.emulator.store.users[grant.user_gid]
        answer: JSON = {
            "access_token": access_token,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "token_type": "bearer",
            "data": {"id": int(user.gid), "gid": user.gid, "name": user.name, "email": user.email},
        }
        if refresh_token is not None:
            answer["refresh_token"] = refresh_token
        return answer

    def revoke(self, token: str) -> bool:
        """End a grant by its refresh token (and its access tokens); False if unknown."""
        grant = self.grants.pop(token, None)
        if grant is None:
            return False
        for access_token in grant.access_tokens:
            self.emulator.store.tokens.pop(access_token, None)
        return True


def _oauth(request: Request) -> OAuthProvider:
    return cast(OAuthProvider, request.app.state.asana_oauth)


OAuth = Annotated[OAuthProvider, Depends(_oauth)]


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


@router.get("/-/oauth_authorize", include_in_schema=False)
async def authorize_page(request: Request, oauth: OAuth) -> Response:
    params = dict(request.query_params)
    oauth.app(params.get("client_id"), params.get("redirect_uri"))
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items()
    )
    buttons = "".join(
        f'<button name="user" value="{escape(u.gid)}">Allow as {escape(u.name)}</button> '
        for u in oauth.emulator.store.users.values()
    )
    page = f"""<!doctype html><html><head><title>Grant access to Asana?</title></head><body>
<h1>Let this app access your Asana account?</h1>
<form method="post" action="/-/oauth_authorize">{hidden}{buttons}
<button name="deny" value="1">Deny</button></form>
<p><small>Asana emulator: there is no login, so choose whom to consent as.</small></p>
</body></html>"""
    return HTMLResponse(page)


@router.post("/-/oauth_authorize", include_in_schema=False)
async def authorize_decision(request: Request, oauth: OAuth) -> Response:
    form = await _form(request)
    redirect_uri = form.get("redirect_uri", "")
    state = {"state": form["state"]} if "state" in form else {}
    if form.get("deny") or not form.get("user"):
        oauth.app(form.get("client_id"), redirect_uri)
        return RedirectResponse(with_query(redirect_uri, {"error": "access_denied", **state}), 303)
    code = oauth.consent(form, form["user"])
    return RedirectResponse(with_query(redirect_uri, {"code": code, **state}), 303)


@router.post("/-/oauth_token", include_in_schema=False)
async def token(request: Request, oauth: OAuth) -> Response:
    return JSONResponse(oauth.token(await _form(request)))


@router.post("/-/oauth_revoke", include_in_schema=False)
async def revoke(request: Request, oauth: OAuth) -> Response:
    form = await _form(request)
    app = oauth.app(form.get("client_id"), None)
    if not hmac.compare_digest(form.get("client_secret", ""), app.client_secret):
        raise OAuthFailure("invalid_client", "The client_secret is wrong.", 401)
    if not oauth.revoke(form.get("token", "")):
        raise OAuthFailure("invalid_request", "The token is not a known refresh token.")
    return Response(status_code=200)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str
    redirect_uri: str
    user: str
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = "S256"
    scope: str | None = None


@control_router.post("/authorize")
async def consent_as(body: ConsentIn, oauth: OAuth) -> JSON:
    """Consent as ``user``, as the page would: the code and the URL the browser would get."""
    params = {k: v for k, v in body.model_dump().items() if v is not None and k != "user"}
    code = oauth.consent({**params, "response_type": "code"}, body.user)
    state = {"state": body.state} if body.state is not None else {}
    return {"code": code, "redirect": with_query(body.redirect_uri, {"code": code, **state})}


def install_oauth(app: FastAPI, emulator: AsanaEmulator) -> OAuthProvider:
    provider = OAuthProvider(emulator)
    app.state.asana_oauth = provider
    app.include_router(router)
    app.include_router(control_router)
    answer_oauth_failures(app)
    return provider
