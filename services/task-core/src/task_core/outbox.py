"""The transactional outbox: an event is written in the same transaction as the change it
describes, so either both happen or neither; the relay publishes it afterwards.

``Outbox`` is also the doorbell between writers and the relay in this process: a writer rings
it after its commit so the event leaves at once instead of at the next poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from task_core.models import OutboxMessage, utcnow
from task_core.repository import OutboxRepository
from tether_events import CloudEvent, encode


class Outbox:
    def __init__(self) -> None:
        self._committed = asyncio.Event()

    def add(self, session: AsyncSession, topic: str, event: CloudEvent[Any], key: str) -> None:
        """Queue ``event`` for ``topic`` inside the caller's transaction."""
        OutboxRepository(session).add(
            OutboxMessage(
                event_id=event.id,
                topic=topic,
                key=key,
                payload=encode(event).decode(),
                created_at=utcnow(),
            )
        )

    def committed(self) -> None:
        """Call after a transaction that added events has committed."""
        self._committed.set()

    async def wait_for_commit(self, timeout: float) -> None:
        """Return when a commit was announced since the last call, or after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._committed.wait()
        except TimeoutError:
            pass
        # Cleared before the relay reads the outbox, so a commit announced during that read
        # makes the next wait return at once rather than being missed.
        self._committed.clear()
