"""Connections: connect an account (credentials checked with the provider, kept encrypted),
list them, read one, and what it can export into."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import ValidationError

from tether_connector_runtime.api.errors import (
    CredentialsRejected,
    ProviderUnavailable,
    invalid_body,
    provider_of,
)
from tether_connector_runtime.connections import ConnectionOwner
from tether_connector_runtime.pipeline.disconnect import disconnect
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.state import State
from tether_contracts.connections import ConnectionOut, Targets
from tether_contracts.people import OwnerTimeZone, OwnerZoneUpdated, TimeZoneName

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/connections", tags=["connections"])
owners = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/owners", tags=["connections"])


@router.post("", status_code=201, response_model=ConnectionOut)
async def connect(
    tenant_id: str,
    state: State,
    body: Annotated[dict[str, Any], Body()],
    owner_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    time_zone: Annotated[TimeZoneName | None, Query()] = None,
) -> ConnectionOut:
    """Body: the provider's credentials (its adapter's model, e.g. ``{"token"}``). Query:
    who connects (``owner_id``) and their IANA ``time_zone`` (default: UTC, or what a
    repaired connection had)."""
    adapter = state.adapter
    try:
        credentials = adapter.credentials.model_validate(body)
    except ValidationError as exc:
        raise invalid_body(exc) from exc
    try:
        account = await adapter.authenticate(credentials)
    except (AuthRevokedError, PermanentProviderError) as exc:
        name = adapter.provider.capitalize()
        raise CredentialsRejected(f"{name} rejected the credentials: {exc}") from exc
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    owner = ConnectionOwner(owner_id=owner_id, time_zone=time_zone)
    return await state.connections.store(tenant_id, account, owner)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(tenant_id: str, state: State) -> list[ConnectionOut]:
    return await state.connections.of_tenant_all(tenant_id)


@router.get("/{connection_id}", response_model=ConnectionOut)
async def read(tenant_id: str, connection_id: str, state: State) -> ConnectionOut:
    return state.connections.out(await state.connections.of_tenant(tenant_id, connection_id))


@router.delete("/{connection_id}", status_code=204)
async def remove(tenant_id: str, connection_id: str, state: State) -> Response:
    """Disconnect: the connection, its webhooks and its links' sync end here (its links say
    ``unlinked``), then its grant is revoked at the provider where the adapter can (best
    effort: a refusal there does not undo the removal). 404 when not this tenant's."""
    row = await state.connections.of_tenant(tenant_id, connection_id)
    await disconnect(state.pipeline, row)
    return Response(status_code=204)


@router.get("/{connection_id}/targets", response_model=Targets)
async def targets(tenant_id: str, connection_id: str, state: State) -> Targets:
    row = await state.connections.of_tenant(tenant_id, connection_id)
    try:
        containers = await (await provider_of(state, row)).targets()
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    return Targets(containers=containers)


@owners.put("/{owner_id}/time-zone", response_model=OwnerZoneUpdated)
async def set_owner_zone(
    tenant_id: str, owner_id: str, body: OwnerTimeZone, state: State
) -> OwnerZoneUpdated:
    """The person's zone changed: their connections' date-only dues are written in it from
    now on (idempotent; 0 when they made none here)."""
    count = await state.connections.set_owner_zone(tenant_id, owner_id, body.time_zone)
    return OwnerZoneUpdated(connections=count)
