"""Held deletions of a connection: a burst of deletions waits here for a person's go-ahead.

A provider-side delete unlinks (and flags) a task; a core delete archives the provider copy.
When one account deletes more than the configured number of items within the window, the
connector stops propagating that account's deletions and holds them until they are confirmed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.endpoints import Connectors
from api_gateway.schemas import UNAUTHORIZED, UPSTREAM

router = APIRouter(
    prefix="/v1/connections", tags=["connections"], responses={**UNAUTHORIZED, **UPSTREAM}
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such connection for this tenant (`connection_not_found`)"}
}


class HeldDeletion(BaseModel):
    link_id: str
    task_id: str | None
    direction: Literal["provider", "core"] = Field(
        description="`provider`: the item was deleted or archived in the provider (the task "
        "would be unlinked and flagged); `core`: the task was deleted here (the item would be "
        "archived)"
    )
    held_at: datetime


class Deletions(BaseModel):
    connection_id: str
    paused: bool = Field(description="True while deletions of this account wait for a person")
    approved_until: datetime | None = Field(
        description="After a confirmation, deletions pass unchecked until then"
    )
    held: list[HeldDeletion]


class Confirmed(BaseModel):
    propagated: int = Field(description="Held deletions now carried out")
    withdrawn: int = Field(
        description="Held deletions dropped because the item came back before confirming"
    )


@router.get(
    "/{connection_id}/deletions",
    summary="Deletions held by the burst guard",
    responses=NOT_FOUND,
)
async def held_deletions(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> Deletions:
    return Deletions.model_validate(await connectors.deletions(principal.tenant_id, connection_id))


@router.post(
    "/{connection_id}/deletions/confirm",
    summary="Confirm held deletions",
    description="Carries out every held deletion (an item restored in the provider meanwhile "
    "is left alone) and lets this account's deletions through for one window.",
    responses=NOT_FOUND,
)
async def confirm_deletions(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> Confirmed:
    return Confirmed.model_validate(
        await connectors.confirm_deletions(principal.tenant_id, connection_id)
    )
