"""Connections: connect an account (credentials checked with the provider, kept encrypted),
list them, read one, and what it can export into."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import ValidationError

from tether_connector_runtime.api.errors import (
    CredentialsRejected,
    ProviderUnavailable,
    invalid_body,
)
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.state import State
from tether_contracts.connections import ConnectionOut, Targets

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/connections", tags=["connections"])


@router.post("", status_code=201, response_model=ConnectionOut)
async def connect(
    tenant_id: str, state: State, body: Annotated[dict[str, Any], Body()]
) -> ConnectionOut:
    """Body: the provider's credentials (its adapter's model, e.g. ``{"token"}``)."""
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
    return await state.connections.store(tenant_id, account)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(tenant_id: str, state: State) -> list[ConnectionOut]:
    return await state.connections.of_tenant_all(tenant_id)


@router.get("/{connection_id}", response_model=ConnectionOut)
async def read(tenant_id: str, connection_id: str, state: State) -> ConnectionOut:
    return state.connections.out(await state.connections.of_tenant(tenant_id, connection_id))


@router.get("/{connection_id}/targets", response_model=Targets)
async def targets(tenant_id: str, connection_id: str, state: State) -> Targets:
    row = await state.connections.of_tenant(tenant_id, connection_id)
    try:
        containers = await state.connections.session_of(row).targets()
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    return Targets(containers=containers)
