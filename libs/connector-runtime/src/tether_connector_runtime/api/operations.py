"""What an operator looks at, per tenant: links with their sync state, webhooks and their
expiry, parked events and their replay (``tether_contracts.operations``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from tether_common.db import transaction
from tether_connector_runtime import parked_events
from tether_connector_runtime.state import ConnectorState, State
from tether_connector_runtime.store.records import StoredLink
from tether_contracts.operations import (
    DeadLetterOut,
    LinkHealthOut,
    LinkSyncState,
    ReplayedOut,
    WebhookOut,
)

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["operations"])

# A page, not an export: the newest changes are what a person looks for.
MAX_LINKS = 500
RecordId = Annotated[str, Path(pattern=r"^[0-9]{1,6}:[0-9]{1,20}$")]


@router.get("/links", response_model=list[LinkHealthOut])
async def links(tenant_id: str, state: State) -> list[LinkHealthOut]:
    """The tenant's links here, newest change first (at most :data:`MAX_LINKS`)."""
    table = state.pipeline.repo.t.links
    query = (
        select(table)
        .where(table.c.tenant_id == tenant_id)
        .order_by(table.c.updated_at.desc(), table.c.link_id)
        .limit(MAX_LINKS)
    )
    async with transaction(state.pipeline.sessions) as session:
        rows = list(await session.execute(query))
    return [_link(state, row) for row in rows]


def _link(state: ConnectorState, row: Any) -> LinkHealthOut:
    # Read as the pipeline reads it: parked work is a JSON column whose "none" is JSON null.
    link = StoredLink.from_row(row)
    parked = link.parked
    # As the retrying-links gauge counts: failed work has a deadline to give up at; work held
    # for its turn (a burst window, a rate-limit budget) has none.
    sync: LinkSyncState = "refused" if link.refusal else "ok"
    if parked:
        sync = "retrying" if parked.retry_until is not None else "held"
    return LinkHealthOut(
        link_id=link.link_id,
        task_id=link.task_id,
        provider=state.adapter.provider,
        connection_id=link.connection_id,
        status=link.status,
        state=sync,
        external_id=link.external_id,
        url=link.url,
        attempts=parked.attempts if parked else 0,
        next_attempt_at=parked.next_attempt_at if parked else None,
        retry_until=parked.retry_until if parked else None,
        last_error=parked.last_error if parked else link.refusal,
        last_sync=row.updated_at,
    )


@router.get("/webhooks", response_model=list[WebhookOut])
async def webhooks(tenant_id: str, state: State) -> list[WebhookOut]:
    """The webhooks of the tenant's connections, soonest to expire first."""
    t = state.pipeline.repo.t
    query = (
        select(t.webhooks)
        .join(t.connections, t.connections.c.id == t.webhooks.c.connection_id)
        .where(t.connections.c.tenant_id == tenant_id)
        .order_by(t.webhooks.c.expires_at.is_(None), t.webhooks.c.expires_at, t.webhooks.c.id)
    )
    async with transaction(state.pipeline.sessions) as session:
        rows = list(await session.execute(query))
    return [
        WebhookOut(
            connection_id=row.connection_id,
            model_id=row.model_id,
            registered=row.external_webhook_id is not None,
            expires_at=row.expires_at,
        )
        for row in rows
    ]


@router.get("/dead-letters", response_model=list[DeadLetterOut])
async def dead_letters(tenant_id: str, state: State) -> list[DeadLetterOut]:
    """Events this connector parked for the tenant, newest first."""
    return [_letter(state, r) for r in await parked_events.parked_for(state, tenant_id)]


@router.post("/dead-letters/{record_id}/replay", response_model=ReplayedOut)
async def replay(tenant_id: str, record_id: RecordId, state: State) -> ReplayedOut:
    """Publish the parked event again to its topic; 404 ``dead_letter_not_found``."""
    record = await parked_events.replay(state, tenant_id, record_id)
    return ReplayedOut(
        id=record.id,
        event_id=str(record.letter.original_event.get("id")),
        original_topic=record.letter.original_topic,
    )


def _letter(state: ConnectorState, record: parked_events.Record) -> DeadLetterOut:
    event, letter = record.letter.original_event, record.letter
    subject = event.get("subject")
    return DeadLetterOut(
        id=record.id,
        provider=state.adapter.provider,
        event_id=str(event.get("id")),
        event_type=str(event.get("type")),
        task_id=str(subject) if subject is not None else None,
        original_topic=letter.original_topic,
        consumer=letter.consumer,
        error=letter.error,
        attempts=letter.attempts,
        failed_at=letter.failed_at,
    )
