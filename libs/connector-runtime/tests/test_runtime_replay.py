"""Replaying the dead-letter topic against a real Kafka broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from tether_connector_runtime.deadletter import DeadLetter, KafkaRawPublisher
from tether_connector_runtime.replay import dlq_app, replay_dead_letters
from tether_events.codec import decode
from tether_events.envelope import CloudEvent
from tether_events.kafka import ensure_topics
from tether_events.task import LinkChanged
from tether_events.topics import Topic, topic_name


def parked(consumer: str, task_id: str, topic: str) -> tuple[CloudEvent[LinkChanged], bytes]:
    data = LinkChanged(
        link_id="l1", task_id=task_id, tenant_id="acme", provider="trello", status="active"
    )
    event = data.envelope(source="/test", subject=task_id, tenant_id="acme")
    letter = DeadLetter(
        original_topic=topic,
        original_event=event.model_dump(mode="json"),
        error="PermanentProviderError: 404",
        attempts=1,
        failed_at=datetime.now(UTC),
        consumer=consumer,
    )
    return event, letter.model_dump_json().encode()


async def read_all(bootstrap: str, topic: str, expected: int) -> list[CloudEvent[LinkChanged]]:
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"check-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await reader.start()
    events = []
    try:
        for _ in range(40):
            batches = await reader.getmany(timeout_ms=500)
            events += [decode(m.value) for ms in batches.values() for m in ms]
            if len(events) >= expected:
                break
    finally:
        await reader.stop()
    return events


@pytest.mark.integration
async def test_replay_republishes_parked_events_once(
    kafka_bootstrap_servers: str, topic_namespace: str
) -> None:
    dlq = topic_name(Topic.DEAD_LETTER, topic_namespace)
    original = topic_name(Topic.LINK_EVENTS, topic_namespace)
    # One partition so the order of the parked records is known.
    await ensure_topics(kafka_bootstrap_servers, [dlq], partitions=1)
    await ensure_topics(kafka_bootstrap_servers, [original])
    first, first_raw = parked("trello-connector", "t1", original)
    second, second_raw = parked("asana-connector", "t2", original)
    publisher = KafkaRawPublisher(kafka_bootstrap_servers)
    await publisher.start()
    try:
        await publisher.publish_raw(dlq, b"t1", first_raw)
        await publisher.publish_raw(dlq, None, b"not a dead letter")  # as KafkaBus parks junk
        await publisher.publish_raw(dlq, b"t2", second_raw)
    finally:
        await publisher.stop()

    said: list[str] = []
    servers, ns = kafka_bootstrap_servers, topic_namespace
    assert await replay_dead_letters(servers, ns, limit=1, progress=said.append) == 1
    assert await replay_dead_letters(servers, ns, progress=said.append) == 1
    assert await replay_dead_letters(servers, ns) == 0  # offsets committed: nothing left
    assert any("skipped" in line for line in said)
    assert any(first.id in line for line in said)
    # A filtered replay has its own group: it starts from the beginning, skips other consumers'.
    assert await replay_dead_letters(servers, ns, consumer="asana-connector") == 1

    events = await read_all(kafka_bootstrap_servers, original, expected=3)
    assert sorted(e.id for e in events) == sorted([first.id, second.id, second.id])
    assert {e.id: e for e in events}[first.id] == first  # the same event, id and all


@pytest.mark.integration
async def test_replay_without_a_topic_replays_nothing(
    kafka_bootstrap_servers: str, topic_namespace: str
) -> None:
    said: list[str] = []
    dlq = topic_name(Topic.DEAD_LETTER, topic_namespace)
    servers, ns = kafka_bootstrap_servers, topic_namespace
    count = await replay_dead_letters(servers, ns, progress=said.append)
    assert count == 0
    assert said == [f"no dead-letter topic {dlq}: nothing to replay"]


@pytest.mark.integration
def test_the_cli_command(kafka_bootstrap_servers: str, topic_namespace: str) -> None:
    result = CliRunner().invoke(
        dlq_app,
        ["replay", "--consumer", "x", "--limit", "5"],
        env={
            "TETHER_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "TETHER_TOPIC_NAMESPACE": topic_namespace,
        },
    )
    assert result.exit_code == 0, result.output
    assert "replayed 0 event(s)" in result.output


def test_the_cli_help_names_the_options() -> None:
    result = CliRunner().invoke(dlq_app, ["replay", "--help"])
    assert result.exit_code == 0
    for option in ("--consumer", "--limit", "--bootstrap-servers", "--namespace"):
        assert option in result.output
