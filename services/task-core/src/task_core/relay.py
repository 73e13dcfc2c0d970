"""The outbox relay: publishes committed events to the bus in commit order.

Each message is marked published only after the bus acknowledged it, so a crash never loses
one: after a crash between commit and publish the next relay publishes it; after a crash
between publish and marking it publishes it again, the very same CloudEvent (same id), which
consumers drop by id (see ``repository.already_processed``).

With several task-core replicas on PostgreSQL, only the holder of an advisory lock publishes:
one publisher keeps each task's events in commit order, and the others stand by to take over
when its session ends. SQLite means a single process, so there the relay always leads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from task_core.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED, RELAY_FAILURES
from task_core.models import OutboxMessage, utcnow
from task_core.outbox import Outbox
from task_core.repository import OutboxRepository
from tether_common.db import transaction
from tether_common.relay import finish_despite_stop, run_relay
from tether_events import EventBus, decode
from tether_events.trace_context import resumed

log = structlog.get_logger(__name__)

Hook = Callable[[OutboxMessage], Awaitable[None]]
LOCK_NAME = "tether.task-core.outbox-relay"


@dataclass(frozen=True, slots=True)
class RelayHooks:
    """Fault-injection points, awaited with the message in hand.

    A test stops the relay at an exact point by making a hook wait forever and then cancelling
    the relay (stopping the app) while it waits: what a killed process leaves behind.
    """

    before_publish: Hook | None = None  # the message is committed, not yet on the bus
    before_mark: Hook | None = None  # the bus acknowledged it, it is not yet marked published


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        outbox: Outbox,
        *,
        write_lock: AbstractAsyncContextManager[object],
        batch_size: int = 100,
        interval: float = 1.0,
        max_backoff: float = 30.0,
        hooks: RelayHooks | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._bus = bus
        self._outbox = outbox
        self._write_lock = write_lock
        self._batch_size = batch_size
        self._interval = interval
        self._max_backoff = max_backoff
        self._hooks = hooks or RelayHooks()

    async def run(self) -> None:
        """Publish until cancelled: at once after a local commit, else every ``interval``
        (see :func:`tether_common.relay.run_relay`)."""
        await run_relay(
            self._engine,
            LOCK_NAME,
            self.publish_pending,
            self._outbox,
            interval=self._interval,
            max_backoff=self._max_backoff,
            on_failure=RELAY_FAILURES.inc,
        )

    async def publish_pending(self) -> int:
        """Publish every unpublished message, oldest first; returns how many were published.

        A batch's messages are marked published together once the bus has them (one
        transaction, not one per message); a crash in between publishes the unmarked ones
        again, as after any crash between publishing and marking."""
        published = 0
        while True:
            async with transaction(self._sessions) as session:
                outbox = OutboxRepository(session)
                batch = await outbox.unpublished(self._batch_size)
                # A short batch is the whole backlog: counted only when there may be more.
                full = len(batch) == self._batch_size
                OUTBOX_BACKLOG.set(await outbox.backlog() if full else len(batch))
            sent: list[OutboxMessage] = []
            try:
                for message in batch:
                    await self._publish(message)
                    sent.append(message)
            finally:
                if sent:
                    # Once the bus has them, stopping the relay (a shutdown) waits for the
                    # mark rather than cutting it off, which would only cause duplicates.
                    await finish_despite_stop(self._mark_published(sent))
            published += len(sent)
            if not full:
                return published

    async def _publish(self, message: OutboxMessage) -> None:
        if self._hooks.before_publish is not None:
            await self._hooks.before_publish(message)
        # Our own encoder wrote the payload, so a decoding error is a bug: it stops the relay
        # loudly (failures metric, rising backlog) rather than skipping an event for good.
        event = decode(message.payload.encode())
        # Published in the trace of the change that wrote it (nothing, with tracing off).
        with resumed(message.trace_context):
            await self._bus.publish(message.topic, event, key=message.key)
        if self._hooks.before_mark is not None:
            await self._hooks.before_mark(message)

    async def _mark_published(self, messages: list[OutboxMessage]) -> None:
        async with self._write_lock, transaction(self._sessions) as session:
            await OutboxRepository(session).mark_published([m.id for m in messages], utcnow())
        OUTBOX_PUBLISHED.inc(len(messages))
        OUTBOX_BACKLOG.dec(len(messages))
        for message in messages:
            log.debug("outbox_published", event_id=message.event_id, topic=message.topic)
