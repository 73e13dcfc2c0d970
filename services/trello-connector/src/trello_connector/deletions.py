"""Held deletions of a connection: what the burst guard is holding, and a person's go-ahead.

Internal API, called by the gateway (``/v1/connections/{id}/deletions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tether_common.db import transaction
from trello_connector.connections import tenant_connection
from trello_connector.state import TrelloState, trello_state

router = APIRouter(
    prefix="/internal/v1/tenants/{tenant_id}/connections/{connection_id}/deletions",
    tags=["deletions"],
)
State = Annotated[TrelloState, Depends(trello_state)]


class HeldDeletionOut(BaseModel):
    link_id: str
    task_id: str | None
    direction: Literal["provider", "core"]
    held_at: datetime


class DeletionsOut(BaseModel):
    connection_id: str
    paused: bool
    approved_until: datetime | None
    held: list[HeldDeletionOut]


class ConfirmedOut(BaseModel):
    propagated: int
    withdrawn: int


@router.get("", response_model=DeletionsOut)
async def held_deletions(tenant_id: str, connection_id: str, state: State) -> DeletionsOut:
    await tenant_connection(state, tenant_id, connection_id)
    async with transaction(state.sessions) as session:
        status = await state.sync.brake.status(session, connection_id)
        held = []
        for item in status.held:
            link = await state.repo.link(session, item.link_id)
            held.append(
                HeldDeletionOut(
                    link_id=item.link_id,
                    task_id=link.task_id if link else None,
                    direction=item.direction.value,
                    held_at=item.held_at,
                )
            )
    return DeletionsOut(
        connection_id=connection_id,
        paused=status.paused,
        approved_until=status.approved_until,
        held=held,
    )


@router.post("/confirm", response_model=ConfirmedOut)
async def confirm(tenant_id: str, connection_id: str, state: State) -> ConfirmedOut:
    await tenant_connection(state, tenant_id, connection_id)
    propagated, withdrawn = await state.sync.confirm_deletions(connection_id)
    return ConfirmedOut(propagated=propagated, withdrawn=withdrawn)
