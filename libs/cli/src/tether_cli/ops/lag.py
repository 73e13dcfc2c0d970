"""Kafka consumer lag of each service's consumer group: end offsets minus committed offsets."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from task_core.consumer import GROUP as TASK_CORE_GROUP
from task_core.consumer import consumed_topics
from tether_cli.ops.common import started
from tether_events.kafka_admin import partitions_of
from tether_events.topics import Topic, topic_name


@dataclass(frozen=True)
class Lag:
    """``group``'s lag on ``topic``: records after its committed offsets, summed over the
    topic's partitions (a partition it never committed counts from its first record)."""

    group: str
    topic: str
    partitions: int
    committed: int
    end: int
    lag: int


def consumer_groups(namespace: str, providers: list[str]) -> dict[str, list[str]]:
    """Each consumer group the services run, with the topics it reads: task-core's
    (task_core.consumer) and each connector's (``<provider>-connector``, subscriptions.py)."""
    groups = {TASK_CORE_GROUP: consumed_topics(namespace)}
    for provider in providers:
        groups[f"{provider}-connector"] = [
            topic_name(Topic.TASK_CHANGED, namespace),
            topic_name(Topic.LINK_EVENTS, namespace),
        ]
    return groups


async def consumer_lag(bootstrap_servers: str, groups: dict[str, list[str]]) -> list[Lag]:
    """The lag of every group on every topic it reads that exists. Raises a KafkaError (e.g.
    KafkaConnectionError) when the broker cannot be reached."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    async with started(admin):
        # Made once the admin client reached the broker: one never started warns when dropped.
        reader = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=None, request_timeout_ms=15_000
        )
        async with started(reader):
            partitions = await partitions_of(admin, (t for ts in groups.values() for t in ts))
            lags = []
            for group, topics in groups.items():
                committed = await admin.list_consumer_group_offsets(group)
                for topic in (t for t in topics if t in partitions):
                    parts = partitions[topic]
                    lags.append(await _lag(reader, group, topic, parts, committed))
            return lags


async def _lag(
    reader: AIOKafkaConsumer,
    group: str,
    topic: str,
    parts: list[TopicPartition],
    committed: dict[TopicPartition, object],
) -> Lag:
    ends = await reader.end_offsets(parts)
    starts = await reader.beginning_offsets(parts)
    done = 0
    for tp in parts:
        meta = committed.get(tp)
        offset = getattr(meta, "offset", -1)
        done += offset if offset >= 0 else starts[tp]
    end = sum(ends.values())
    return Lag(group, topic, len(parts), done, end, end - done)
