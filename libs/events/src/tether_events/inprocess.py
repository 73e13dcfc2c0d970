"""An in-process event bus for embedded mode and fast tests.

It keeps Kafka's semantics that our code relies on: an append-only log per topic, consumer
groups that each see every event once in order, and an offset that advances only after the
handler returned (so a failing handler sees the same event again). Events round-trip through
JSON so a test on this bus exercises the same encoding as Kafka. A coalescing subscription
coalesces whatever is queued for it when it next reads (up to a batch, as Kafka's ``getmany``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from tether_events.bus import CoalesceKey, Handler, NewerOf, Subscription
from tether_events.coalescing import later, plan_deliveries
from tether_events.codec import decode, encode
from tether_events.envelope import CloudEvent
from tether_events.retry import handle_until_done

log = structlog.get_logger(__name__)

# Events read at once, like the Kafka adapter's ``getmany(max_records=100)``.
BATCH = 100


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

    async def append(self, topic: str, *raws: bytes) -> None:
        """Append records; several given at once land together (a burst a consumer will
        find queued as one batch)."""
        async with self.appended:
            self.logs[topic].records.extend(raws)
            self.appended.notify_all()


class InProcessBus:
    def __init__(self, store: InProcessLogStore | None = None) -> None:
        self.store = store or InProcessLogStore()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    async def start(self) -> None:
        self._started = True
        for subscription in self._subscriptions:
            self._run(subscription)

    def _run(self, subscription: Subscription) -> None:
        self._tasks.append(asyncio.create_task(self._consume(subscription)))

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

    def subscribe(
        self,
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        *,
        coalesce_by: CoalesceKey | None = None,
        newer_of: NewerOf | None = None,
    ) -> None:
        subscription = Subscription(tuple(topics), group_id, handler, coalesce_by, newer_of)
        self._subscriptions.append(subscription)
        if self._started:
            self._run(subscription)

    async def _consume(self, subscription: Subscription) -> None:
        topics, group_id = subscription.topics, subscription.group_id
        key = subscription.coalesce_by or _never
        newer_of = subscription.newer_of or later
        while True:
            async with self.store.appended:
                await self.store.appended.wait_for(lambda: self._pending(topics, group_id))
            for topic in topics:
                topic_log = self.store.logs[topic]
                while (start := topic_log.committed[group_id]) < len(topic_log.records):
                    batch = [decode(raw) for raw in topic_log.records[start : start + BATCH]]
                    deliveries = plan_deliveries(batch, key, newer_of)
                    if len(deliveries) < len(batch):
                        log.debug(
                            "events_coalesced",
                            group=group_id,
                            topic=topic,
                            skipped=len(batch) - len(deliveries),
                        )
                    for delivery in deliveries:
                        await handle_until_done(subscription.handler, delivery.item)
                        topic_log.committed[group_id] = start + delivery.done

    def _pending(self, topics: tuple[str, ...], group_id: str) -> bool:
        return any(
            self.store.logs[t].committed[group_id] < len(self.store.logs[t].records) for t in topics
        )


def _never(event: CloudEvent[Any]) -> None:
    return None
