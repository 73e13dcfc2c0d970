"""Connecting through the provider's consent page (OAuth) instead of pasting credentials.

1. ``start``: the adapter begins a flow; what completing it needs waits in the store's pending
   authorizations, encrypted and bound to the tenant and user who started, for ``PENDING_FOR``
   (the browser may come back to another replica or after a restart).
2. The person consents at the provider, which sends the browser back (through the gateway) to
   ``finish`` with its query parameters.
3. The pending authorization they name is claimed (deleted) before the provider is asked, so a
   replayed return finds nothing; the adapter exchanges, and the account is stored like pasted
   credentials (:meth:`Connections.store`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body

from tether_common.db import transaction
from tether_common.errors import DomainError
from tether_connector_runtime.api.errors import CredentialsRejected, ProviderUnavailable
from tether_connector_runtime.connections import ConnectionOwner
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError
from tether_connector_runtime.state import ConnectorState, State
from tether_connector_runtime.store.authorizations import (
    PendingAuthorization,
    PendingAuthorizations,
)
from tether_contracts.connections import AuthorizationStarted, AuthorizeRequest, ConnectionOut

# Long enough to read the provider's page and sign in; short enough that a leaked flow is soon
# worthless.
PENDING_FOR = timedelta(minutes=10)

router = APIRouter(prefix="/internal/v1", tags=["connections"])


class OAuthNotConfigured(DomainError):
    status_code = 503
    code = "oauth_not_configured"


class AppRefused(DomainError):
    """The provider refused the app's own credentials: a deployment setting is wrong."""

    status_code = 502
    code = "provider_refused_app"


class AuthorizationUnknown(DomainError):
    status_code = 400
    code = "authorization_unknown"


class AuthorizationExpired(DomainError):
    status_code = 400
    code = "authorization_expired"


class AuthorizationIncomplete(DomainError):
    status_code = 400
    code = "authorization_incomplete"


def _pending(state: ConnectorState) -> PendingAuthorizations:
    return PendingAuthorizations(state.pipeline.repo.t.pending_authorizations)


def _restart(state: ConnectorState) -> str:
    return f"start again at GET /v1/connections/{state.adapter.provider}/authorize"


@router.post(
    "/tenants/{tenant_id}/oauth/authorize", status_code=201, response_model=AuthorizationStarted
)
async def start(tenant_id: str, body: AuthorizeRequest, state: State) -> AuthorizationStarted:
    flow = state.adapter.consent
    if flow is None:
        raise OAuthNotConfigured(f"{state.adapter.provider} has no consent flow")
    try:
        begun = await flow.begin()
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    now = datetime.now(UTC)
    pending = PendingAuthorization(
        state=begun.state,
        tenant_id=tenant_id,
        user_id=body.user_id,
        time_zone=body.time_zone,
        secret_encrypted=state.connections.encrypt(begun.secret),
        created_at=now,
        expires_at=now + PENDING_FOR,
    )
    async with transaction(state.pipeline.sessions) as session:
        store = _pending(state)
        await store.purge_expired(session, now)
        await store.add(session, pending)
    return AuthorizationStarted(authorize_url=begun.authorize_url, expires_at=pending.expires_at)


@router.post("/oauth/callback", status_code=201, response_model=ConnectionOut)
async def finish(
    state: State, params: Annotated[dict[str, str], Body(max_length=32)]
) -> ConnectionOut:
    """Body: the query parameters the provider sent the browser back with."""
    flow = state.adapter.consent
    if flow is None:
        raise OAuthNotConfigured(f"{state.adapter.provider} has no consent flow")
    name = state.adapter.provider.capitalize()
    try:
        flow_state = flow.state_of(params)
    except ValueError as exc:
        raise AuthorizationIncomplete(f"{exc}: {_restart(state)}") from exc
    async with transaction(state.pipeline.sessions) as session:
        pending = await _pending(state).claim(session, flow_state)
    if pending is None:
        raise AuthorizationUnknown(
            f"no {name} authorization is waiting for this return (unknown, or completed "
            f"already): {_restart(state)}"
        )
    if pending.expired(datetime.now(UTC)):
        minutes = int(PENDING_FOR.total_seconds() // 60)
        raise AuthorizationExpired(
            f"this {name} authorization expired (they last {minutes} minutes): {_restart(state)}"
        )
    try:
        account = await flow.complete(params, state.connections.decrypt(pending.secret_encrypted))
    except PermanentProviderError as exc:
        raise CredentialsRejected(f"{name} refused the authorization: {exc}") from exc
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    owner = ConnectionOwner(owner_id=pending.user_id, time_zone=pending.time_zone)
    return await state.connections.store(pending.tenant_id, account, owner)
