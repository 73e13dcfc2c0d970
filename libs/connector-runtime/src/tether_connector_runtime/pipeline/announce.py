"""Events the pipeline publishes, always through the outbox, inside the transaction that
records the state they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.store.repository import StoredLink
from tether_events import LinkChanged, ProviderItemChanged, Topic, VectorClock, topic_name
from tether_sync import ProviderChange

LinkStatus = Literal["active", "retrying", "failed", "unlinked", "archived", "paused"]
PauseReason = Literal["item_archived", "connection_broken"]


async def link_changed(
    pipeline: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    status: LinkStatus,
    *,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    synced_clock: VectorClock | None = None,
    reason: PauseReason | None = None,
) -> None:
    event = LinkChanged(
        link_id=link.link_id,
        task_id=link.task_id,
        tenant_id=link.tenant_id,
        provider=pipeline.provider,
        status=status,
        replica=link.replica,
        external_id=link.external_id,
        url=link.url,
        error=error,
        next_attempt_at=next_attempt_at,
        synced_clock=synced_clock,
        reason=reason,
    )
    await pipeline.outbox.add(
        session,
        topic_name(Topic.LINK_EVENTS, pipeline.namespace),
        event.envelope(source=pipeline.source, subject=link.task_id, tenant_id=link.tenant_id),
    )


async def provider_changed(
    pipeline: Pipeline, session: AsyncSession, link: StoredLink, change: ProviderChange
) -> None:
    """A person's edit on the provider, relative to the link's base (core merges it)."""
    event = ProviderItemChanged(
        task_id=link.task_id,
        tenant_id=link.tenant_id,
        link_id=link.link_id,
        provider=pipeline.provider,
        replica=change.replica,
        external_id=link.external_id or "",
        base_clock=change.base_clock,
        base_values={k: _json(v) for k, v in change.base_values.items()},
        new_values={k: _json(v) for k, v in change.new_values.items()},
        edited_at=change.edited_at,
        field_edited_at=dict(change.field_edited_at),
        field_limits=dict(change.field_limits),
    )
    await _provider_event(pipeline, session, link, event)


async def provider_deleted(
    pipeline: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    *,
    gone: Literal["deleted", "out_of_reach"] = "deleted",
) -> None:
    """The provider copy went away (deleted, or out of the account's reach): core unlinks
    and flags the task."""
    assert link.state is not None
    event = ProviderItemChanged(
        task_id=link.task_id,
        tenant_id=link.tenant_id,
        link_id=link.link_id,
        provider=pipeline.provider,
        replica=link.state.replica,
        external_id=link.external_id or "",
        base_clock=link.state.synced_clock,
        base_values={},
        new_values={},
        deleted=True,
        gone=gone,
        edited_at=pipeline.now(),
    )
    await _provider_event(pipeline, session, link, event)


async def _provider_event(
    pipeline: Pipeline, session: AsyncSession, link: StoredLink, event: ProviderItemChanged
) -> None:
    await pipeline.outbox.add(
        session,
        topic_name(Topic.PROVIDER_CHANGED, pipeline.namespace),
        event.envelope(source=pipeline.source, subject=link.task_id, tenant_id=link.tenant_id),
    )


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
