"""An in-process event bus for embedded mode and fast tests.

It keeps Kafka's semantics that our code relies on: an append-only log per topic, consumer
groups that each see every event once in order, and an offset that advances only after the
handler returned (so a failing handler sees the same event again). Events round-trip through
JSON so a test on this bus exercises the same encoding as Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tether_events.bus import Handler
from tether_events.codec import decode, encode
from tether_events.envelope import CloudEvent
from tether_events.retry import handle_until_done


@dataclass
class _Log:
    records: list[bytes] = field(default_factory=list)
    # Committed offsets per consumer group, as a broker would keep them.
    committed: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class InProcessLogStore:
    """The "broker": outlives bus instances, so a restarted consumer resumes from its offset."""

    def __init__(self) -> None:
        self.logs: dict[str, _Log] = defaultdict(_Log)
        self.appended = asyncio.Condition()

    async def append(self, topic: str, raw: bytes) -> None:
        async with self.appended:
            self.logs[topic].records.append(raw)
            self.appended.notify_all()


class InProcessBus:
    def __init__(self, store: InProcessLogStore | None = None) -> None:
        self.store = store or InProcessLogStore()
        self._subscriptions: list[tuple[tuple[str, ...], str, Handler]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    async def start(self) -> None:
        self._started = True
        for topics, group_id, handler in self._subscriptions:
            self._run(topics, group_id, handler)

    def _run(self, topics: tuple[str, ...], group_id: str, handler: Handler) -> None:
        self._tasks.append(asyncio.create_task(self._consume(topics, group_id, handler)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started = False

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        await self.store.append(topic, encode(event))

    def subscribe(self, topics: Sequence[str], group_id: str, handler: Handler) -> None:
        self._subscriptions.append((tuple(topics), group_id, handler))
        if self._started:
            self._run(tuple(topics), group_id, handler)

    async def _consume(self, topics: tuple[str, ...], group_id: str, handler: Handler) -> None:
        while True:
            async with self.store.appended:
                await self.store.appended.wait_for(lambda: self._pending(topics, group_id))
            for topic in topics:
                log = self.store.logs[topic]
                while log.committed[group_id] < len(log.records):
                    event = decode(log.records[log.committed[group_id]])
                    await handle_until_done(handler, event)
                    log.committed[group_id] += 1

    def _pending(self, topics: tuple[str, ...], group_id: str) -> bool:
        return any(
            self.store.logs[t].committed[group_id] < len(self.store.logs[t].records) for t in topics
        )
