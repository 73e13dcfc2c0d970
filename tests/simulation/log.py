"""The simulation's bus: the embedded bus's own durable log (``SqliteLogStore``: records and
each consumer group's committed offset in SQLite), with the simulation as the scheduler that
decides which group takes its next record and when it commits.

Every event goes through the log's encoding (``tether_events.encode`` on publish, ``decode`` on
delivery), so what a consumer handles is what the bytes on the bus say, not the publisher's
object. The store's file is in memory: the bus itself never dies in a schedule (the processes
around it do), and an in-memory file spares each append a disk sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from tests.simulation.steps import Crash
from tether_connector_runtime.testing import RecordingBus
from tether_events import CloudEvent, decode, encode
from tether_events.sqlitelog import SqliteLogStore

T = TypeVar("T")


class InlineLogStore(SqliteLogStore):
    """The store's own SQL on the loop's thread, one yield per operation (as
    :mod:`tether_connector_runtime.testing.inline_sqlite` does for the databases): tasks still
    interleave at every operation, in an order fixed by the loop, so a schedule replays
    exactly."""

    async def _in_thread(self, work: Callable[[], T]) -> T:
        await asyncio.sleep(0)  # where the worker thread's answer would be awaited
        return work()


class Log(RecordingBus):
    """Consumer groups read by offset and commit once their handler returned.

    ``published`` (inherited) lists every publish in order, a relay's resend of one event
    included; ``crash_next``: the next publish reaches the log and then its publisher's
    process dies (before it could mark its outbox row published).
    """

    def __init__(self) -> None:
        super().__init__()
        self.store = InlineLogStore(":memory:")
        self.crash_next = False
        self.crashes = 0

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        await super().publish(topic, event, key)
        await self.store.append(topic, encode(event))
        if self.crash_next:
            self.crash_next = False
            self.crashes += 1
            raise Crash("after the bus took the event, before its outbox row was marked")

    async def next_for(self, group: str, topic: str) -> tuple[int, CloudEvent[Any]] | None:
        """The record ``group`` takes next from ``topic`` and its offset; None when caught up."""
        offset = await self.store.committed(topic, group)
        records = await self.store.read(topic, offset, 1)
        return (offset, decode(records[0])) if records else None

    async def last_taken(self, group: str, topic: str) -> CloudEvent[Any] | None:
        """The record ``group`` committed last (delivered again: at-least-once)."""
        offset = await self.store.committed(topic, group)
        if offset == 0:
            return None
        return decode((await self.store.read(topic, offset - 1, 1))[0])

    async def commit(self, group: str, topic: str, offset: int) -> None:
        await self.store.commit(topic, group, offset)

    async def pending(self, group: str, topic: str) -> int:
        """How many records of ``topic`` ``group`` has yet to take."""
        return len(await self.store.read(topic, await self.store.committed(topic, group), 10**6))

    async def events(self, topic: str) -> list[CloudEvent[Any]]:
        """Every record of ``topic``, in order, as consumers decode them."""
        return [decode(raw) for raw in await self.store.read(topic, 0, 10**6)]

    async def close(self) -> None:
        await self.store.close()
