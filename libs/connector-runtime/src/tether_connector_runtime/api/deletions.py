"""Held deletions of a connection: what the burst brake holds, and a person's go-ahead."""

from __future__ import annotations

from fastapi import APIRouter

from tether_common.db import transaction
from tether_connector_runtime.pipeline import removals
from tether_connector_runtime.state import State
from tether_contracts.connections import ConfirmedOut, DeletionsOut, HeldDeletionOut

router = APIRouter(
    prefix="/internal/v1/tenants/{tenant_id}/connections/{connection_id}/deletions",
    tags=["deletions"],
)


@router.get("", response_model=DeletionsOut)
async def held_deletions(tenant_id: str, connection_id: str, state: State) -> DeletionsOut:
    await state.connections.of_tenant(tenant_id, connection_id)
    p = state.pipeline
    async with transaction(p.sessions) as session:
        status = await p.brake.status(session, connection_id)
        held = []
        for item in status.held:
            link = await p.repo.link(session, item.link_id)
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
    await state.connections.of_tenant(tenant_id, connection_id)
    propagated, withdrawn = await removals.confirm_deletions(state.pipeline, connection_id)
    return ConfirmedOut(propagated=propagated, withdrawn=withdrawn)
