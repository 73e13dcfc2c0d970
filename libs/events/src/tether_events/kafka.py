"""The event bus on Apache Kafka (aiokafka).

Producer: idempotent, ``acks=all``, keyed by task id, so a retried send is never duplicated in
the log and one task's events keep their order on one partition. Consumers: one consumer group
per subscription, auto-commit off, each offset committed only after its handler returned
(kafka_offsets.py: the handled offsets of every partition together, at most every
``COMMIT_INTERVAL`` seconds; a crash may deliver those again, to idempotent handlers; a
rebalance waits for the batch in hand). A coalescing subscription coalesces within each
partition's share of a ``getmany`` batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from tether_events.bus import CoalesceKey, Handler, NewerOf, Subscription
from tether_events.coalescing import plan_deliveries
from tether_events.codec import UndecodableEvent, decode, encode
from tether_events.envelope import CloudEvent
from tether_events.kafka_offsets import FinishBeforeHandover, HandledOffsets
from tether_events.metrics import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_PUBLISHED
from tether_events.retry import handle_until_done
from tether_events.trace_context import KafkaHeaders, handling, publishing

log = structlog.get_logger(__name__)


async def ensure_topics(
    bootstrap_servers: str, topics: Sequence[str], *, partitions: int = 6, replication: int = 1
) -> None:
    """Create missing topics with our partition count (broker auto-creation would use its own)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=partitions, replication_factor=replication)
                        for t in missing
                    ]
                )
    finally:
        await admin.close()


@dataclass(frozen=True)
class _Record:
    """A consumed message and what it decoded to (an event, or why it is not one)."""

    topic: str
    offset: int
    raw: bytes
    event: CloudEvent[Any] | UndecodableEvent
    headers: KafkaHeaders = ()


class KafkaBus:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "tether",
        dead_letter_topic: str | None = None,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._dead_letter_topic = dead_letter_topic
        self._producer: AIOKafkaProducer | None = None
        self._subscriptions: list[Subscription] = []
        self._consumers: list[AIOKafkaConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
        )
        await self._producer.start()
        for subscription in self._subscriptions:
            await self._run(subscription)

    async def _run(self, subscription: Subscription) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=subscription.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        offsets = HandledOffsets(consumer, subscription.group_id)
        handover = FinishBeforeHandover(offsets, subscription.group_id)
        consumer.subscribe(list(subscription.topics), listener=handover)
        await consumer.start()
        self._consumers.append(consumer)
        self._tasks.append(
            asyncio.create_task(self._consume(consumer, subscription, offsets, handover))
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for consumer in self._consumers:
            await consumer.stop()
        self._consumers.clear()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaBus.publish called before start()")
        # The publishing span's context travels in the message headers (trace_context).
        with publishing(topic, event) as headers:
            await self._producer.send_and_wait(
                topic, encode(event), key=(key or event.subject).encode(), headers=headers
            )
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
        if self._producer is not None:
            # Already running: start this one too (its consumer joins the group in the
            # background; a subscription has no way to report failure but its log).
            self._tasks.append(asyncio.create_task(self._run(subscription)))

    async def _consume(
        self,
        consumer: AIOKafkaConsumer,
        subscription: Subscription,
        offsets: HandledOffsets,
        handover: FinishBeforeHandover,
    ) -> None:
        lag_reported: set[tuple[str, str, str]] = set()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=100)
                # A rebalance waits for the batch in hand (kafka_offsets.FinishBeforeHandover):
                # the partition's next owner must not handle its events beside us.
                async with handover.handling():
                    await self._handle_batch(subscription, batches, offsets)
                await _report_lag(consumer, subscription.group_id, lag_reported)
                # Handled offsets are committed together, at most every COMMIT_INTERVAL
                # seconds and whenever the topic falls quiet: one request for many events.
                await offsets.commit(due_only=bool(batches))
        finally:
            # A stop (not a crash) commits what was handled, so a restart does not replay it.
            with contextlib.suppress(Exception):
                await offsets.commit(due_only=False)

    async def _handle_batch(
        self,
        subscription: Subscription,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        offsets: HandledOffsets,
    ) -> None:
        # Partitions are independent (one task's events all sit on one): each batch's
        # partitions are handled side by side, each in its own order, so a slow link on one
        # partition does not hold the events of the others. Nothing here commits (offsets do).
        async with asyncio.TaskGroup() as partitions:
            for partition, messages in batches.items():
                partitions.create_task(self._deliver(subscription, partition, messages, offsets))

    async def _deliver(
        self,
        subscription: Subscription,
        partition: TopicPartition,
        messages: Sequence[ConsumerRecord[bytes, bytes]],
        offsets: HandledOffsets,
    ) -> None:
        records = [
            _Record(m.topic, m.offset, m.value, _decoded(m.value), tuple(m.headers))
            for m in messages
        ]
        deliveries = plan_deliveries(
            records, _key(subscription.coalesce_by), _newer(subscription.newer_of)
        )
        if len(deliveries) < len(records):
            log.debug(
                "events_coalesced",
                group=subscription.group_id,
                topic=partition.topic,
                partition=partition.partition,
                skipped=len(records) - len(deliveries),
            )
        offsets.fetched(partition, records[0].offset)
        handled = 0
        for delivery in deliveries:
            await self._handle(delivery.item, subscription)
            if delivery.done > handled:
                handled = delivery.done
                offsets.handled(partition, records[handled - 1].offset + 1)
        EVENTS_CONSUMED.labels(partition.topic, subscription.group_id).inc(len(records))

    async def _handle(self, record: _Record, subscription: Subscription) -> None:
        if isinstance(record.event, UndecodableEvent):
            # A poison message must neither block its partition forever nor vanish: park it.
            log.error("event_undecodable", topic=record.topic, error=str(record.event))
            if self._dead_letter_topic and self._producer is not None:
                await self._producer.send_and_wait(
                    self._dead_letter_topic,
                    record.raw,
                    headers=[
                        ("tether-error", str(record.event).encode()[:1000]),
                        ("tether-topic", record.topic.encode()),
                    ],
                )
            return
        with handling(record.topic, record.event, record.headers, group_id=subscription.group_id):
            await handle_until_done(subscription.handler, record.event)


async def _report_lag(
    consumer: AIOKafkaConsumer, group_id: str, reported: set[tuple[str, str, str]]
) -> None:
    """Each assigned partition's lag: its end (as the last fetch saw it) minus the group's next
    offset. A partition not fetched yet has no known end and is left out until it is. One that
    a rebalance gave to another replica is dropped from ``reported`` (this consumer's series),
    so its last value here is not added to the new owner's."""
    assigned: set[tuple[str, str, str]] = set()
    for partition in consumer.assignment():
        end = consumer.highwater(partition)
        if end is None:
            continue
        labels = (partition.topic, str(partition.partition), group_id)
        position = await consumer.position(partition)
        CONSUMER_LAG.labels(*labels).set(max(0, end - position))
        assigned.add(labels)
    for labels in reported - assigned:
        CONSUMER_LAG.remove(*labels)
    reported.clear()
    reported.update(assigned)


def _decoded(raw: bytes) -> CloudEvent[Any] | UndecodableEvent:
    try:
        return decode(raw)
    except UndecodableEvent as exc:
        return exc


def _key(coalesce_by: CoalesceKey | None) -> Callable[[_Record], Hashable | None]:
    def key(record: _Record) -> Hashable | None:
        # An undecodable message has no key: it is always delivered (and parked).
        if coalesce_by is None or isinstance(record.event, UndecodableEvent):
            return None
        return coalesce_by(record.event)

    return key


def _newer(newer_of: NewerOf | None) -> Callable[[_Record, _Record], _Record]:
    def newer(older: _Record, newest: _Record) -> _Record:
        # Only records with a key meet here, and only decodable ones have one.
        if newer_of is None or isinstance(older.event, UndecodableEvent):
            return newest
        if isinstance(newest.event, UndecodableEvent):
            return older
        return newest if newer_of(older.event, newest.event) is newest.event else older

    return newer


__all__ = ["KafkaBus", "ensure_topics"]
