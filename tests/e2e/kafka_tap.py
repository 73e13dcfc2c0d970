"""Reading what really went over Kafka, as an outside observer (its own consumer group)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer

from tether_events import CloudEvent, Topic, decode, topic_name
from tether_events.kafka import ensure_topics


def ensure_namespace_topics(bootstrap_servers: str, namespace: str) -> None:
    asyncio.run(create_namespace_topics(bootstrap_servers, namespace))


async def create_namespace_topics(bootstrap_servers: str, namespace: str) -> None:
    await ensure_topics(bootstrap_servers, [topic_name(t, namespace) for t in Topic])


async def read_events(
    bootstrap_servers: str, topic: str, *, until: int, within: float = 30.0
) -> list[CloudEvent[Any]]:
    """Everything on ``topic`` from the beginning, once at least ``until`` events arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"e2e-tap-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    events: list[CloudEvent[Any]] = []
    try:
        deadline = time.monotonic() + within
        while len(events) < until and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                events.extend(decode(m.value) for m in messages)
    finally:
        await consumer.stop()
    return events
