"""Which partitions a topic has, asked of the broker.

A consumer's ``partitions_for_topic`` answers only from metadata the consumer already holds,
and ``topics()`` fetches metadata without keeping it: a reader made just for one command
would see no partitions at all (a lag of nothing, an empty dead-letter list). The admin
client's topic description is the broker's own answer."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def partitions_of(
    admin: AIOKafkaAdminClient, topics: Iterable[str]
) -> dict[str, list[TopicPartition]]:
    """Each existing topic of ``topics`` with its partitions, in partition order; a topic the
    broker does not have is left out. Raises a KafkaError when the broker cannot be reached."""
    wanted = sorted(set(topics))
    existing = set(await admin.list_topics())
    found: dict[str, list[TopicPartition]] = {}
    described = await admin.describe_topics([t for t in wanted if t in existing])
    for topic in described:
        if topic["error_code"] != 0:
            continue  # deleted since it was listed
        numbers = sorted(int(p["partition"]) for p in topic["partitions"])
        found[str(topic["topic"])] = [TopicPartition(topic["topic"], n) for n in numbers]
    return found
