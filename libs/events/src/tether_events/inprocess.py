"""An in-process event bus for embedded mode and fast tests.

It keeps Kafka's semantics that our code relies on: an append-only log per topic, consumer
groups that each see every event once in order, and an offset that advances only after the
handler returned (so a failing handler sees the same event again). Events round-trip through
JSON so a test on this bus exercises the same encoding as Kafka. A coalescing subscription
coalesces whatever is queued for it when it next reads (up to a batch, as Kafka's ``getmany``).
Each record keeps headers beside the event, as a Kafka message does: the trace context of the
span that published it, which its handling continues (``tether_events.trace_context``).

The log itself lives in a :class:`LogStore`, the bus's "broker": :class:`InProcessLogStore`
keeps it in memory (tests), :class:`tether_events.sqlitelog.SqliteLogStore` in an SQLite file
(embedded mode), so that a process killed mid-flight resumes every group from its committed
offset after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, cast, overload

import structlog
from typing_extensions import TypeVar

from tether_events.bus import CoalesceKey, Handler, NewerOf, Subscription
from tether_events.coalescing import later, plan_deliveries
from tether_events.codec import decode, encode
from tether_events.envelope import CloudEvent
from tether_events.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED
from tether_events.retry import handle_until_done
from tether_events.trace_context import IN_PROCESS, KafkaHeaders, handling, publishing

log = structlog.get_logger(__name__)

# Events read at once, like the Kafka adapter's ``getmany(max_records=100)``.
BATCH = 100


@dataclass(frozen=True)
class LogRecord:
    """One record of a topic's log: the encoded event and its headers (name, value pairs, as
    a Kafka message's; empty when it was published untraced)."""

    value: bytes
    headers: KafkaHeaders = ()


class LogStore(Protocol):
    """Topics as append-only logs of raw records (offsets 0, 1, 2, ... per topic) and the
    committed offset of each (topic, consumer group): the next offset the group has to handle,
    0 for a group that never committed (Kafka's ``auto_offset_reset="earliest"``)."""

    async def append(self, topic: str, *raws: bytes, headers: KafkaHeaders = ()) -> None:
        """Append records in order, all or none, each with ``headers``; when this returns they
        are stored as durably as the store can (a burst appended at once is found queued as
        one batch)."""

    async def read(self, topic: str, offset: int, limit: int) -> list[bytes]:
        """Up to ``limit`` records' values of ``topic`` from ``offset`` on, in order (``[]``
        at the end)."""

    async def read_records(self, topic: str, offset: int, limit: int) -> list[LogRecord]:
        """As :meth:`read`, each value with its headers."""

    async def committed(self, topic: str, group_id: str) -> int:
        """The offset ``group_id`` resumes ``topic`` from."""

    async def commit(self, topic: str, group_id: str, offset: int) -> None:
        """Record that ``group_id`` handled ``topic`` up to (not including) ``offset``; an
        offset at or below the committed one changes nothing (offsets never go back)."""

    async def wait_for_records(self, topics: Sequence[str], group_id: str) -> None:
        """Return once one of ``topics`` holds a record ``group_id`` has not committed."""


@dataclass
class _Log:
    records: list[bytes] = field(default_factory=list)
    headers: list[KafkaHeaders] = field(default_factory=list)  # of each record, in step
    # Committed offsets per consumer group, as a broker would keep them.
    committed: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class InProcessLogStore:
    """A :class:`LogStore` in memory: outlives bus instances, so a restarted consumer resumes
    from its offset, but not the process. ``logs[topic].records`` is there for tests to read."""

    def __init__(self) -> None:
        self.logs: dict[str, _Log] = defaultdict(_Log)
        self.appended = asyncio.Condition()

    async def append(self, topic: str, *raws: bytes, headers: KafkaHeaders = ()) -> None:
        async with self.appended:
            self.logs[topic].records.extend(raws)
            self.logs[topic].headers.extend(tuple(headers) for _ in raws)
            self.appended.notify_all()

    async def read(self, topic: str, offset: int, limit: int) -> list[bytes]:
        return self.logs[topic].records[offset : offset + limit]

    async def read_records(self, topic: str, offset: int, limit: int) -> list[LogRecord]:
        log = self.logs[topic]
        window = slice(offset, offset + limit)
        return [
            LogRecord(value, headers)
            for value, headers in zip(log.records[window], log.headers[window], strict=True)
        ]

    async def committed(self, topic: str, group_id: str) -> int:
        return self.logs[topic].committed[group_id]

    async def commit(self, topic: str, group_id: str, offset: int) -> None:
        committed = self.logs[topic].committed
        committed[group_id] = max(committed[group_id], offset)

    async def wait_for_records(self, topics: Sequence[str], group_id: str) -> None:
        def pending() -> bool:
            return any(self.logs[t].committed[group_id] < len(self.logs[t].records) for t in topics)

        async with self.appended:
            await self.appended.wait_for(pending)


# A bare ``InProcessBus`` (what ``InProcessBus()`` builds) is one over the in-memory store.
StoreT = TypeVar("StoreT", bound=LogStore, default=InProcessLogStore)


class InProcessBus(Generic[StoreT]):
    """The :class:`tether_events.bus.EventBus` port over a :class:`LogStore` (``store``;
    default: a fresh :class:`InProcessLogStore`). One partition per topic: order is total."""

    @overload
    def __init__(self: InProcessBus[InProcessLogStore], store: None = None) -> None: ...

    @overload
    def __init__(self, store: StoreT) -> None: ...

    def __init__(self, store: StoreT | None = None) -> None:
        # The overloads tie a missing store to the in-memory default, which mypy cannot see here.
        self.store: StoreT = store if store is not None else cast(StoreT, InProcessLogStore())
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
        # The publishing span's context is kept with the record, as Kafka keeps it in the
        # message headers (trace_context): handling the event continues that trace.
        with publishing(topic, event, system=IN_PROCESS) as headers:
            await self.store.append(topic, encode(event), headers=headers or ())
        EVENTS_PUBLISHED.labels(topic).inc()

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
        while True:
            await self.store.wait_for_records(topics, group_id)
            for topic in topics:
                while True:
                    start = await self.store.committed(topic, group_id)
                    batch = await self.store.read_records(topic, start, BATCH)
                    if not batch:
                        break
                    await self._deliver(subscription, topic, start, batch)
                    EVENTS_CONSUMED.labels(topic, group_id).inc(len(batch))

    async def _deliver(
        self, subscription: Subscription, topic: str, start: int, batch: Sequence[LogRecord]
    ) -> None:
        """Hand ``batch`` (``topic``'s records from offset ``start`` on) to the subscription,
        coalesced as it asks, each in the trace its record's headers carry."""
        group_id = subscription.group_id
        received = [_Received(decode(record.value), record.headers) for record in batch]
        deliveries = plan_deliveries(
            received, _key(subscription.coalesce_by), _newer(subscription.newer_of)
        )
        if len(deliveries) < len(batch):
            log.debug(
                "events_coalesced",
                group=group_id,
                topic=topic,
                skipped=len(batch) - len(deliveries),
            )
        for delivery in deliveries:
            event, headers = delivery.item
            with handling(topic, event, headers, group_id=group_id, system=IN_PROCESS):
                await handle_until_done(subscription.handler, event)
            # Only now is the prefix handled; a crash before this line redelivers it.
            await self.store.commit(topic, group_id, start + delivery.done)


class _Received(NamedTuple):
    """A record read back: its event, and the headers it was published with."""

    event: CloudEvent[Any]
    headers: KafkaHeaders


def _key(coalesce_by: CoalesceKey | None) -> Callable[[_Received], Hashable | None]:
    def key(received: _Received) -> Hashable | None:
        return None if coalesce_by is None else coalesce_by(received.event)

    return key


def _newer(newer_of: NewerOf | None) -> Callable[[_Received, _Received], _Received]:
    # The delivery carries the newest event's record, headers included: its handling joins
    # the trace of the change that event stands for.
    def newer(older: _Received, newest: _Received) -> _Received:
        pick = newer_of or later
        return newest if pick(older.event, newest.event) is newest.event else older

    return newer
