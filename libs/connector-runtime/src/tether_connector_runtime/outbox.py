"""The connector's transactional outbox: an event is written in the same transaction as the
link state that says it happened, and a relay publishes it afterwards.

A provider change and the link's new base commit together, so a crash can neither lose the
change (state saved, event not sent) nor send it twice with different bases. The relay
publishes rows in id order and deletes each once the bus has it; a crash between the two
publishes the same CloudEvent (same id) again, which consumers drop by id or by clock.
With several replicas on PostgreSQL only the holder of an advisory lock relays, which keeps
each task's events in commit order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_common.relay import CommitSignal, finish_despite_stop, run_relay
from tether_events import CloudEvent, EventBus, decode, encode
from tether_events.trace_context import resumed, stored_context

PUBLISHED = Counter(
    "tether_connector_outbox_published_total", "Events a connector's relay published", ["provider"]
)
BACKLOG = Gauge(
    "tether_connector_outbox_backlog", "Events written but not yet published", ["provider"]
)
BATCH = 100


class ConnectorOutbox(CommitSignal):
    """Writes events into ``<provider>_outbox``; rings the relay after commits
    (:meth:`committed`)."""

    def __init__(self, table: Any) -> None:
        super().__init__()
        self.table = table

    async def add(
        self, session: AsyncSession, topic: str, event: CloudEvent[Any], key: str | None = None
    ) -> None:
        """Queue ``event`` inside the caller's transaction (key: default the subject)."""
        await session.execute(
            insert(self.table).values(
                event_id=event.id,
                topic=topic,
                key=key or event.subject,
                payload=encode(event).decode(),
                created_at=datetime.now(UTC),
                trace_context=stored_context(),
            )
        )


class ConnectorRelay:
    def __init__(
        self,
        provider: str,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        outbox: ConnectorOutbox,
        *,
        interval: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self._provider = provider
        self._engine = engine
        self._sessions = sessions
        self._bus = bus
        self._outbox = outbox
        self._interval = interval
        self._max_backoff = max_backoff

    async def run(self) -> None:
        """Publish until cancelled (see :func:`tether_common.relay.run_relay`)."""
        await run_relay(
            self._engine,
            f"tether.{self._provider}-connector.outbox",
            self.publish_pending,
            self._outbox,
            interval=self._interval,
            max_backoff=self._max_backoff,
        )

    async def publish_pending(self) -> int:
        """Publish every waiting event, oldest first; returns how many. A batch's rows are
        deleted together once the bus has them (a crash in between publishes those again)."""
        t = self._outbox.table
        published = 0
        while True:
            async with transaction(self._sessions) as session:
                rows = list(await session.execute(select(t).order_by(t.c.id).limit(BATCH)))
                # A short batch is the whole backlog: counted only when there may be more.
                full = len(rows) == BATCH
                backlog = (
                    (await session.execute(select(func.count()).select_from(t))).scalar()
                    if full
                    else len(rows)
                )
            BACKLOG.labels(self._provider).set(backlog or 0)
            sent: list[int] = []
            try:
                for row in rows:
                    # In the trace of the change that wrote it (nothing, with tracing off).
                    with resumed(row.trace_context):
                        event = decode(row.payload.encode())
                        await self._bus.publish(row.topic, event, key=row.key)
                    sent.append(row.id)
            finally:
                if sent:
                    await finish_despite_stop(self._forget(sent))
            published += len(sent)
            if not full:
                return published

    async def _forget(self, row_ids: list[int]) -> None:
        t = self._outbox.table
        async with transaction(self._sessions) as session:
            await session.execute(delete(t).where(t.c.id.in_(row_ids)))
        PUBLISHED.labels(self._provider).inc(len(row_ids))
