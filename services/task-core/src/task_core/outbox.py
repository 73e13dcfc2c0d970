"""The transactional outbox: an event is written in the same transaction as the change it
describes, so either both happen or neither; the relay publishes it afterwards.

``Outbox`` is also the doorbell between writers and the relay in this process: a writer rings
it after its commit so the event leaves at once instead of at the next poll.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from task_core.models import OutboxMessage, utcnow
from task_core.repository import OutboxRepository
from tether_common.relay import CommitSignal
from tether_events import CloudEvent, encode
from tether_events.trace_context import stored_context


class Outbox(CommitSignal):
    """Writes events into ``task_core_outbox``; rings the relay after commits
    (:meth:`committed`)."""

    def add(self, session: AsyncSession, topic: str, event: CloudEvent[Any], key: str) -> None:
        """Queue ``event`` for ``topic`` inside the caller's transaction."""
        OutboxRepository(session).add(
            OutboxMessage(
                event_id=event.id,
                topic=topic,
                key=key,
                payload=encode(event).decode(),
                created_at=utcnow(),
                trace_context=stored_context(),
            )
        )
