"""Held deletions of a connection: a burst of deletions waits here for a person's go-ahead.

A provider-side delete unlinks (and flags) a task; a core delete archives the provider copy.
When one account deletes more than the configured number of items within the window, the
connector stops propagating that account's deletions and holds them until they are confirmed.
"""

from __future__ import annotations

from fastapi import APIRouter

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import CONNECTION_NOT_FOUND, CONNECTOR_UPSTREAM, UNAUTHORIZED
from api_gateway.state import Connectors
from tether_contracts.connections import ConfirmedOut, DeletionsOut

router = APIRouter(
    prefix="/v1/connections",
    tags=["connections"],
    responses={**UNAUTHORIZED, **CONNECTOR_UPSTREAM},
)


@router.get(
    "/{connection_id}/deletions",
    summary="Deletions held by the burst guard",
    responses=CONNECTION_NOT_FOUND,
)
async def held_deletions(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> DeletionsOut:
    return await connectors.deletions(principal.tenant_id, connection_id)


@router.post(
    "/{connection_id}/deletions/confirm",
    summary="Confirm held deletions",
    description="Carries out every held deletion (an item restored in the provider meanwhile "
    "is left alone) and lets this account's deletions through for one window.",
    responses=CONNECTION_NOT_FOUND,
)
async def confirm_deletions(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> ConfirmedOut:
    return await connectors.confirm_deletions(principal.tenant_id, connection_id)
