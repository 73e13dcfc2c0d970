"""Trello's OAuth 1.0a endpoints, faithfully enough to run a client's whole flow against them.

1. ``/1/OAuthGetRequestToken``: a request signed (HMAC-SHA1) with the app secret alone and
   naming an ``oauth_callback`` gets a request token and its secret.
2. ``/1/OAuthAuthorizeToken?oauth_token=...``: the page where a person consents. The emulator
   has no login, so the page offers to consent as any member; consenting redirects the browser
   to the callback with ``oauth_token`` and ``oauth_verifier``. Tests skip the page with the
   control shortcut ``POST /_emulator/oauth/authorize``.
3. ``/1/OAuthGetAccessToken``: a request signed with the app secret and the request token's
   secret, carrying the verifier, gets the member's token: an ordinary emulator token, usable on
   the API like those the control API makes.

These endpoints authenticate by signature instead of key and token (the gate lets them
through). An unsigned or badly signed request, an unknown key, token or verifier, and a reused
nonce are refused with Trello's plain-text 401s. Request tokens and verifiers are single use.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from html import escape
from typing import Annotated, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.util import escape as escape_oauth
from authlib.oauth1.rfc5849.util import unescape
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from tether_emulators.trello.emulator import TrelloEmulator
from tether_emulators.trello.errors import TrelloError, invalid_value
from tether_emulators.trello.params import parse_body
from tether_emulators.trello.store import JSON, TrelloStore

REQUEST_TOKEN_PATH = "/1/OAuthGetRequestToken"
AUTHORIZE_PATH = "/1/OAuthAuthorizeToken"
ACCESS_TOKEN_PATH = "/1/OAuthGetAccessToken"
OAUTH_PATHS = frozenset({REQUEST_TOKEN_PATH, AUTHORIZE_PATH, ACCESS_TOKEN_PATH})
OUT_OF_BAND = "oob"  # OAuth 1.0a's "no callback": the page shows the verifier instead

router = APIRouter(tags=["Trello OAuth 1.0a"])
control_router = APIRouter(prefix="/_emulator/oauth", tags=["emulator control"])


@dataclass
class Grant:
    """A request token on its way to becoming a member's token."""

    token: str
    secret: str
    callback: str
    name: str = ""
    scope: str = "read"
    expiration: str = "30days"
    member_id: str | None = None  # set once a person consented
    verifier: str | None = None


@dataclass
class OAuthState:
    """The grants in flight and the nonces already used, of one emulator store: a reset
    replaces the store, and the grants and nonces issued before it go with it."""

    store: TrelloStore
    grants: dict[str, Grant] = field(default_factory=dict)
    nonces: set[tuple[str, str, str]] = field(default_factory=set)


class OAuthProvider:
    def __init__(self, emulator: TrelloEmulator) -> None:
        self.emulator = emulator
        self._state = OAuthState(emulator.store)

    @property
    def state(self) -> OAuthState:
        if self._state.store is not self.emulator.store:
            self._state = OAuthState(self.emulator.store)
        return self._state

    def request_token(self, signed: SignedRequest) -> Grant:
        self.check_signature(signed, token_secret="")
        if signed.oauth.get("oauth_token"):
            raise TrelloError(400, "oauth_token not allowed when requesting a token")
        callback = signed.oauth.get("oauth_callback", "")
        if callback != OUT_OF_BAND and urlsplit(callback).scheme not in ("http", "https"):
            # OAuth 1.0a made the callback part of the signed request-token call.
            raise TrelloError(400, "invalid oauth_callback")
        grant = Grant(token=secrets.token_hex(16), secret=secrets.token_hex(16), callback=callback)
        self.state.grants[grant.token] = grant
        return grant

    def pending(self, token: str | None) -> Grant:
        grant = self.state.grants.get(token or "")
        if grant is None:
            raise TrelloError(400, "invalid token")
        return grant

    def consent(self, grant: Grant, member_id: str) -> str:
        """A person consents as ``member_id``; the verifier the browser carries back."""
        if member_id not in self.emulator.store.members:
            raise invalid_value("member")
        grant.member_id = member_id
        grant.verifier = secrets.token_hex(16)
        return grant.verifier

    def access_token(self, signed: SignedRequest) -> tuple[str, str]:
        grant = self.state.grants.get(signed.oauth.get("oauth_token", ""))
        if grant is None or grant.verifier is None or grant.member_id is None:
            # Unknown, already exchanged, or never consented to.
            raise TrelloError(401, "invalid token")
        self.check_signature(signed, token_secret=grant.secret)
        if not hmac.compare_digest(signed.oauth.get("oauth_verifier", ""), grant.verifier):
            raise TrelloError(401, "invalid verifier")
        del self.state.grants[grant.token]
        token = secrets.token_hex(32)  # 64 hex characters, like Trello's tokens
        self.emulator.store.add_token(token, grant.member_id)
        return token, secrets.token_hex(32)

    def check_signature(self, signed: SignedRequest, *, token_secret: str) -> None:
        oauth = signed.oauth
        if oauth.get("oauth_consumer_key") != self.emulator.api_key:
            raise TrelloError(401, "invalid key")
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise TrelloError(400, "unsupported oauth_signature_method")
        nonce = (
            oauth.get("oauth_consumer_key", ""),
            oauth.get("oauth_nonce", ""),
            oauth.get("oauth_timestamp", ""),
        )
        if not nonce[1] or not nonce[2]:
            raise TrelloError(400, "missing oauth_nonce or oauth_timestamp")
        expected = hmac_sha1_signature(signed.base_string, self.emulator.api_secret, token_secret)
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            raise TrelloError(401, "invalid signature")
        # Checked after the signature, so a forged request cannot burn someone's nonce.
        if nonce in self.state.nonces:
            raise TrelloError(401, "nonce already used")
        self.state.nonces.add(nonce)


@dataclass(frozen=True)
class SignedRequest:
    """A request's OAuth protocol parameters and its signature base string (RFC 5849 3.4.1)."""

    oauth: dict[str, str]
    base_string: str

    @classmethod
    async def of(cls, request: Request) -> SignedRequest:
        query = request.query_params.multi_items()
        body: list[tuple[str, str]] = []
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        # The header's values stay percent-encoded as sent: the base string decodes them once.
        header = _authorization_params(request.headers.get("authorization", ""))
        decoded_header = [(k, unescape(v)) for k, v in header]
        # Protocol parameters come from one place: the header, else the body, else the query.
        sources = [
            p for p in (decoded_header, body, query) if any(k.startswith("oauth_") for k, _ in p)
        ]
        if not sources:
            raise TrelloError(401, "invalid signature")
        oauth = {k: v for k, v in sources[0] if k.startswith("oauth_")}
        if "oauth_signature" not in oauth:
            raise TrelloError(401, "invalid signature")
        # construct_base_string decodes every oauth_* value once; those of the query and body
        # are decoded already, so they go in encoded again.
        decoded_once = [(k, escape_oauth(v) if k.startswith("oauth_") else v) for k, v in query]
        decoded_once += [(k, escape_oauth(v) if k.startswith("oauth_") else v) for k, v in body]
        base_string = construct_base_string(
            request.method,
            str(request.url.replace(query="")),
            [*decoded_once, *header],
            request.headers.get("host"),
        )
        return cls(oauth, base_string)


def _authorization_params(value: str) -> list[tuple[str, str]]:
    """``Authorization: OAuth k="v", ...`` as (k, v) pairs, values still percent-encoded."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "oauth":
        return []
    try:
        pairs = parse_keqv_list(parse_http_list(rest))
    except (IndexError, ValueError) as exc:
        raise TrelloError(400, "malformed Authorization header") from exc
    return [(unescape(k), v) for k, v in pairs.items() if k != "realm"]


def _form(items: dict[str, str]) -> Response:
    return Response(urlencode(items), media_type="application/x-www-form-urlencoded")


def _oauth(request: Request) -> OAuthProvider:
    return cast(OAuthProvider, request.app.state.trello_oauth)


OAuth = Annotated[OAuthProvider, Depends(_oauth)]


@router.api_route(REQUEST_TOKEN_PATH, methods=["GET", "POST"], include_in_schema=False)
async def get_request_token(request: Request, oauth: OAuth) -> Response:
    grant = oauth.request_token(await SignedRequest.of(request))
    return _form(
        {
            "oauth_token": grant.token,
            "oauth_token_secret": grant.secret,
            "oauth_callback_confirmed": "true",
        }
    )


@router.get(AUTHORIZE_PATH, include_in_schema=False)
async def authorize_page(request: Request, oauth: OAuth) -> Response:
    """The consent page: Trello asks the signed-in person; the emulator lets you pick who."""
    params = request.query_params
    grant = oauth.pending(params.get("oauth_token"))
    grant.name = params.get("name", grant.name)
    grant.scope = params.get("scope", grant.scope)
    grant.expiration = params.get("expiration", grant.expiration)
    buttons = "".join(
        f'<button name="member" value="{escape(m.id)}">Allow as @{escape(m.username)}</button> '
        for m in oauth.emulator.store.members.values()
    )
    page = f"""<!doctype html>
<html><head><title>Let {escape(grant.name or "an app")} use your account?</title></head>
<body>
<h1>Let {escape(grant.name or "an app")} use your Trello account?</h1>
<p>It asks for <b>{escape(grant.scope)}</b> access, expiring: <b>{escape(grant.expiration)}</b>.</p>
<form method="post" action="{AUTHORIZE_PATH}">
<input type="hidden" name="oauth_token" value="{escape(grant.token)}">
{buttons}<button name="deny" value="1">Deny</button>
</form>
<p><small>Trello emulator: there is no login, so choose whom to consent as.</small></p>
</body></html>"""
    return HTMLResponse(page)


@router.post(AUTHORIZE_PATH, include_in_schema=False)
async def authorize_decision(request: Request, oauth: OAuth) -> Response:
    form = parse_body(request.headers.get("content-type", ""), await request.body())
    grant = oauth.pending(form.get("oauth_token"))
    if form.get("deny") or not form.get("member"):
        del oauth.state.grants[grant.token]
        return HTMLResponse("<!doctype html><p>Access denied: nothing was shared.</p>")
    verifier = oauth.consent(grant, str(form["member"]))
    if grant.callback == OUT_OF_BAND:
        return HTMLResponse(f"<!doctype html><p>Your verification code: <b>{verifier}</b></p>")
    # 303: the browser follows a POST with a GET of the callback.
    return RedirectResponse(_callback_url(grant), status_code=303)


@router.api_route(ACCESS_TOKEN_PATH, methods=["GET", "POST"], include_in_schema=False)
async def get_access_token(request: Request, oauth: OAuth) -> Response:
    token, secret = oauth.access_token(await SignedRequest.of(request))
    return _form({"oauth_token": token, "oauth_token_secret": secret})


def _callback_url(grant: Grant) -> str:
    query = urlencode({"oauth_token": grant.token, "oauth_verifier": grant.verifier or ""})
    return f"{grant.callback}{'&' if '?' in grant.callback else '?'}{query}"


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    oauth_token: str
    member: str


@control_router.post("/authorize")
async def consent_as(body: ConsentIn, oauth: OAuth) -> JSON:
    """Consent to a request token as ``member``, as the page would, without the page: the
    answer names the verifier and the URL the browser would be sent back to."""
    grant = oauth.pending(body.oauth_token)
    verifier = oauth.consent(grant, body.member)
    redirect: Any = None if grant.callback == OUT_OF_BAND else _callback_url(grant)
    return {"oauth_token": grant.token, "oauth_verifier": verifier, "redirect": redirect}


def install_oauth(app: FastAPI, emulator: TrelloEmulator) -> None:
    app.state.trello_oauth = OAuthProvider(emulator)
    app.include_router(router)
    app.include_router(control_router)
