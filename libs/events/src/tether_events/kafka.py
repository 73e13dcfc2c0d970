"""The event bus on Apache Kafka (aiokafka).

Producer: idempotent, ``acks=all``, keyed by task id, so a retried send is never duplicated in
the log and one task's events keep their order on one partition. Consumers: one consumer group
per subscription, auto-commit off, each offset committed only after its handler returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from tether_events.bus import Handler
from tether_events.codec import UndecodableEvent, decode, encode
from tether_events.envelope import CloudEvent
from tether_events.retry import handle_until_done

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
        self._subscriptions: list[tuple[tuple[str, ...], str, Handler]] = []
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
        for topics, group_id, handler in self._subscriptions:
            await self._run(topics, group_id, handler)

    async def _run(self, topics: tuple[str, ...], group_id: str, handler: Handler) -> None:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consumers.append(consumer)
        self._tasks.append(asyncio.create_task(self._consume(consumer, handler)))

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
        await self._producer.send_and_wait(
            topic, encode(event), key=(key or event.subject).encode()
        )

    def subscribe(self, topics: Sequence[str], group_id: str, handler: Handler) -> None:
        self._subscriptions.append((tuple(topics), group_id, handler))
        if self._producer is not None:
            # Already running: start this one too (its consumer joins the group in the
            # background; a subscription has no way to report failure but its log).
            self._tasks.append(asyncio.create_task(self._run(tuple(topics), group_id, handler)))

    async def _consume(self, consumer: AIOKafkaConsumer, handler: Handler) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=100)
            for partition, messages in batches.items():
                for message in messages:
                    await self._handle(message.value, message.topic, handler)
                    await consumer.commit({partition: message.offset + 1})

    async def _handle(self, raw: bytes, topic: str, handler: Handler) -> None:
        try:
            event = decode(raw)
        except UndecodableEvent as exc:
            # A poison message must neither block its partition forever nor vanish: park it.
            log.error("event_undecodable", topic=topic, error=str(exc))
            if self._dead_letter_topic and self._producer is not None:
                await self._producer.send_and_wait(
                    self._dead_letter_topic,
                    raw,
                    headers=[
                        ("tether-error", str(exc).encode()[:1000]),
                        ("tether-topic", topic.encode()),
                    ],
                )
            return
        await handle_until_done(handler, event)


__all__ = ["KafkaBus", "ensure_topics"]
