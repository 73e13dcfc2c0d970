"""Connecting through Trello's OAuth 1.0a consent page instead of pasting a token.

1. ``start``: Tether asks Trello for a request token (a call signed with the app key and secret
   that names our callback) and answers the URL of Trello's consent page for it.
2. The person consents at Trello, whose page sends the browser back to the callback with
   ``oauth_token`` (the request token) and ``oauth_verifier``.
3. ``finish``: the request token's secret signs the exchange of token and verifier for the
   person's own token, which is then stored like a pasted one (:func:`store_connection`).

Between 1 and 3 the request token's secret waits in the store's pending authorizations (its
ciphertext, bound to the tenant and user who started, for ``PENDING_FOR``), because the browser
may come back to another replica or after a restart. The callback carries no API token, so the
pending authorization is what authorizes it: it is claimed (deleted) before Trello is asked, so
a replayed callback finds nothing, and a failed exchange means starting again.

Signing is authlib's: its httpx ``OAuth1Auth`` on the connector's own HTTP client, which is the
client that knows how to reach Trello (in tests, an emulator in memory).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

import httpx
from authlib.integrations.httpx_client import OAuth1Auth
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tether_common.db import transaction
from tether_common.errors import DomainError
from tether_connector_runtime.store.authorizations import (
    PendingAuthorization,
    PendingAuthorizations,
)
from trello_connector.connections import (
    ConnectionOut,
    TokenRejected,
    TrelloUnavailable,
    store_connection,
)
from trello_connector.state import TrelloState, trello_state

# Long enough to read Trello's page and sign in; short enough that a leaked request token is
# soon worthless.
PENDING_FOR = timedelta(minutes=10)
# What the consent page shows and asks for. A token that expires deletes its webhooks
# (PROVIDERS.md), and sync needs to write cards: hence never, and read,write.
APP_NAME = "Tether"
SCOPE = "read,write"
EXPIRATION = "never"

router = APIRouter(prefix="/internal/v1", tags=["connections"])
State = Annotated[TrelloState, Depends(trello_state)]


class OAuthNotConfigured(DomainError):
    status_code = 503
    code = "oauth_not_configured"


class AppRefused(DomainError):
    """Trello refused the app's own credentials: a deployment setting is wrong."""

    status_code = 502
    code = "provider_refused_app"


class AuthorizationUnknown(DomainError):
    status_code = 400
    code = "authorization_unknown"


class AuthorizationExpired(DomainError):
    status_code = 400
    code = "authorization_expired"


class AuthorizeIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=64, description="Who is connecting")


class AuthorizeOut(BaseModel):
    authorize_url: str = Field(description="Trello's consent page for this authorization")
    expires_at: datetime = Field(description="Consent after this is refused at the callback")


class CallbackIn(BaseModel):
    oauth_token: str = Field(min_length=1, max_length=255)
    oauth_verifier: str = Field(min_length=1, max_length=255)


def _pending(state: TrelloState) -> PendingAuthorizations:
    return PendingAuthorizations(state.repo.t.pending_authorizations)


def _app_auth(state: TrelloState, **kwargs: str) -> OAuth1Auth:
    settings = state.settings
    secret = settings.api_secret.get_secret_value()
    if not settings.api_key or not secret:
        raise OAuthNotConfigured(
            "connecting through Trello needs the app key and secret: set "
            "TETHER_TRELLO_API_KEY and TETHER_TRELLO_API_SECRET"
        )
    return OAuth1Auth(settings.api_key, secret, **kwargs)


async def _signed_post(state: TrelloState, endpoint: str, auth: OAuth1Auth) -> httpx.Response:
    """POST to one of Trello's OAuth endpoints; 4xx answers are the caller's to explain."""
    try:
        response = await state.http.post(f"{state.settings.oauth_url}/{endpoint}", auth=auth)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TrelloUnavailable(f"Trello unreachable: {exc!r}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TrelloUnavailable(f"Trello {response.status_code}: {response.text[:200]}")
    return response


def _credentials(response: httpx.Response) -> tuple[str, str] | None:
    """``oauth_token`` and ``oauth_token_secret`` of a form-encoded token answer."""
    values = dict(parse_qsl(response.text))
    token, secret = values.get("oauth_token"), values.get("oauth_token_secret")
    return (token, secret) if token and secret else None


@router.post("/tenants/{tenant_id}/oauth/authorize", status_code=201, response_model=AuthorizeOut)
async def start(tenant_id: str, body: AuthorizeIn, state: State) -> AuthorizeOut:
    auth = _app_auth(state, redirect_uri=state.settings.oauth_callback)
    response = await _signed_post(state, "OAuthGetRequestToken", auth)
    issued = _credentials(response) if response.is_success else None
    if issued is None:
        raise AppRefused(
            "Trello gave no request token (are TETHER_TRELLO_API_KEY and "
            f"TETHER_TRELLO_API_SECRET right?): {response.status_code} {response.text[:200]}"
        )
    request_token, request_secret = issued
    now = datetime.now(UTC)
    pending = PendingAuthorization(
        state=request_token,
        tenant_id=tenant_id,
        user_id=body.user_id,
        secret_encrypted=state.cipher.encrypt(request_secret),
        created_at=now,
        expires_at=now + PENDING_FOR,
    )
    async with transaction(state.sessions) as session:
        store = _pending(state)
        await store.purge_expired(session, now)
        await store.add(session, pending)
    query = urlencode(
        {"oauth_token": request_token, "name": APP_NAME, "scope": SCOPE, "expiration": EXPIRATION}
    )
    return AuthorizeOut(
        authorize_url=f"{state.settings.oauth_url}/OAuthAuthorizeToken?{query}",
        expires_at=pending.expires_at,
    )


@router.post("/oauth/callback", status_code=201, response_model=ConnectionOut)
async def finish(body: CallbackIn, state: State) -> ConnectionOut:
    async with transaction(state.sessions) as session:
        pending = await _pending(state).claim(session, body.oauth_token)
    if pending is None:
        raise AuthorizationUnknown(
            "no Trello authorization is waiting for this oauth_token (unknown, or completed "
            "already): start again at GET /v1/connections/trello/authorize"
        )
    if pending.expired(datetime.now(UTC)):
        minutes = int(PENDING_FOR.total_seconds() // 60)
        raise AuthorizationExpired(
            f"this Trello authorization expired (they last {minutes} minutes): start again "
            "at GET /v1/connections/trello/authorize"
        )
    auth = _app_auth(
        state,
        token=body.oauth_token,
        token_secret=state.cipher.decrypt(pending.secret_encrypted),
        verifier=body.oauth_verifier,
    )
    response = await _signed_post(state, "OAuthGetAccessToken", auth)
    granted = _credentials(response) if response.is_success else None
    if granted is None:
        raise TokenRejected(
            f"Trello refused the authorization: {response.status_code} {response.text[:200]}"
        )
    user_token, _ = granted  # the secret only signs requests, which Tether does not
    return await store_connection(state, pending.tenant_id, user_token)
