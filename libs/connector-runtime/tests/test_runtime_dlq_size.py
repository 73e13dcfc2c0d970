"""The dead-letter gauges report the topic as it is now on a real broker: what it holds, and
how much of that a replay has not gone past yet; a replay lowers the second, not the first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from tether_connector_runtime.deadletter import DeadLetter, KafkaRawPublisher
from tether_connector_runtime.dlq_size import DeadLetterSize, dead_letter_size, refresh_forever
from tether_connector_runtime.replay import REPLAY_GROUP, replay_dead_letters
from tether_events.kafka import ensure_topics
from tether_events.task import LinkChanged
from tether_events.topics import Topic, topic_name

pytestmark = pytest.mark.integration


def parked(task_id: str, original_topic: str) -> bytes:
    data = LinkChanged(
        link_id="l1", task_id=task_id, tenant_id="acme", provider="trello", status="active"
    )
    event = data.envelope(source="/test", subject=task_id, tenant_id="acme")
    return (
        DeadLetter(
            original_topic=original_topic,
            original_event=event.model_dump(mode="json"),
            error="PermanentProviderError: 404",
            attempts=1,
            failed_at=datetime.now(UTC),
            consumer="trello-connector",
        )
        .model_dump_json()
        .encode()
    )


async def until(condition: Callable[[], bool], within: float = 60.0) -> None:
    """Wait for the refresher's next round (polled; the deadline is only a guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


@pytest.fixture
async def reader(
    kafka_bootstrap_servers: str,
) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """A started admin client and a consumer of the replay group (never subscribed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap_servers, group_id=REPLAY_GROUP, enable_auto_commit=False
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await consumer.start()
    await admin.start()
    yield admin, consumer
    await admin.close()
    await consumer.stop()


async def test_the_size_is_what_the_topic_holds_and_what_waits_for_a_replay(
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    reader: tuple[AIOKafkaAdminClient, AIOKafkaConsumer],
) -> None:
    dlq = topic_name(Topic.DEAD_LETTER, topic_namespace)
    original = topic_name(Topic.LINK_EVENTS, topic_namespace)
    assert await dead_letter_size(*reader, dlq) == DeadLetterSize(held=0, waiting=0)  # no topic

    await ensure_topics(kafka_bootstrap_servers, [dlq, original], partitions=3)
    publisher = KafkaRawPublisher(kafka_bootstrap_servers)
    await publisher.start()
    try:
        for task_id in ("t1", "t2", "t3"):  # keyed by task: spread over the partitions
            await publisher.publish_raw(dlq, task_id.encode(), parked(task_id, original))
    finally:
        await publisher.stop()
    assert await dead_letter_size(*reader, dlq) == DeadLetterSize(held=3, waiting=3)

    servers, ns = kafka_bootstrap_servers, topic_namespace
    assert await replay_dead_letters(servers, ns, limit=1) == 1
    assert await dead_letter_size(*reader, dlq) == DeadLetterSize(held=3, waiting=2)
    assert await replay_dead_letters(servers, ns) == 2
    # Replayed events stay in the topic (it only grows); none waits any more.
    assert await dead_letter_size(*reader, dlq) == DeadLetterSize(held=3, waiting=0)


async def test_the_gauges_follow_the_topic(
    kafka_bootstrap_servers: str, topic_namespace: str
) -> None:
    dlq = topic_name(Topic.DEAD_LETTER, topic_namespace)
    await ensure_topics(kafka_bootstrap_servers, [dlq], partitions=2)
    publisher = KafkaRawPublisher(kafka_bootstrap_servers)
    await publisher.start()
    try:
        await publisher.publish_raw(dlq, b"t1", parked("t1", "elsewhere"))
        await publisher.publish_raw(dlq, b"t2", parked("t2", "elsewhere"))
    finally:
        await publisher.stop()

    refreshing = asyncio.create_task(refresh_forever(kafka_bootstrap_servers, dlq, 0.1))
    try:
        await until(
            lambda: (
                (
                    REGISTRY.get_sample_value("tether_dead_letter_held"),
                    REGISTRY.get_sample_value("tether_dead_letter_waiting"),
                )
                == (2.0, 2.0)
            )
        )
    finally:
        refreshing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await refreshing
