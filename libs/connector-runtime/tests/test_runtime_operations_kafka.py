"""Reading the dead-letter topic's newest records for the operator's view, on a real broker."""

from __future__ import annotations

import pytest

from tether_connector_runtime.deadletter import KafkaRawPublisher
from tether_connector_runtime.parked_events import kafka_tail
from tether_events.kafka import ensure_topics
from tether_events.topics import Topic, topic_name

pytestmark = pytest.mark.integration


async def test_the_newest_records_of_each_partition_are_read_with_their_ids(
    kafka_bootstrap_servers: str, topic_namespace: str
) -> None:
    dlq = topic_name(Topic.DEAD_LETTER, topic_namespace)
    assert await kafka_tail(kafka_bootstrap_servers, dlq) == []  # no topic yet: nothing
    await ensure_topics(kafka_bootstrap_servers, [dlq], partitions=2)
    publisher = KafkaRawPublisher(kafka_bootstrap_servers)
    await publisher.start()
    try:
        for n in range(5):
            await publisher.publish_raw(dlq, None, f"record {n}".encode())
    finally:
        await publisher.stop()
    everything = await kafka_tail(kafka_bootstrap_servers, dlq)
    assert sorted(value for _, value in everything) == [f"record {n}".encode() for n in range(5)]
    by_id = dict(everything)
    assert len(by_id) == 5
    for record_id in by_id:
        partition, _, offset = record_id.partition(":")
        assert partition in ("0", "1")
        assert offset.isdigit()
    # Only the newest of each partition when the tail is short: per partition, the highest
    # offsets, nothing older.
    newest = await kafka_tail(kafka_bootstrap_servers, dlq, tail=1)
    per_partition: dict[str, int] = {}
    for record_id in by_id:
        partition, _, offset = record_id.partition(":")
        per_partition[partition] = max(per_partition.get(partition, -1), int(offset))
    assert sorted(record_id for record_id, _ in newest) == sorted(
        f"{p}:{o}" for p, o in per_partition.items()
    )
