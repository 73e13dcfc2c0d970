"""How big the dead-letter topic is now, read from the broker: what it holds, and how much of
that ``tether dlq replay`` has not gone past yet.

``tether_dead_lettered_total`` counts what was ever parked (by this process, since it
started); these gauges say what is parked now, whoever parked it and however long ago. A
replay publishes the parked events again but removes nothing (a Kafka topic only grows), so
the topic *holds* every event parked within its retention, and the replay group's committed
offsets mark what was *replayed*: the rest waits for a person.

Every connector replica reports the same numbers (read them with ``max``, not ``sum``),
refreshed on a timer rather than on scrape, because a scrape may not wait on the broker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from tether_connector_runtime.replay import REPLAY_GROUP

log = structlog.get_logger(__name__)

HELD = Gauge(
    "tether_dead_letter_held",
    "Events the dead-letter topic holds now, replayed or not (retention drops the oldest)",
)
WAITING = Gauge(
    "tether_dead_letter_waiting",
    "Events in the dead-letter topic that `tether dlq replay` has not replayed yet",
)


@dataclass(frozen=True)
class DeadLetterSize:
    held: int  # records in the topic now
    waiting: int  # of those, past the replay group's committed offsets


async def dead_letter_size(reader: AIOKafkaConsumer, topic: str) -> DeadLetterSize:
    """The topic's size per its offsets: each partition holds ``end - beginning`` records,
    of which those at or after the replay group's committed offset wait. ``reader`` is a
    started consumer in the replay group that never subscribes (so it joins nothing and
    commits nothing). A topic not created yet holds nothing."""
    if topic not in await reader.topics():
        return DeadLetterSize(0, 0)
    partitions = reader.partitions_for_topic(topic)
    if partitions is None:
        # The client tracks a topic's partitions once it was asked about one of them.
        await reader.beginning_offsets([TopicPartition(topic, 0)])
        partitions = reader.partitions_for_topic(topic) or {0}
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    beginning = await reader.beginning_offsets(assigned)
    end = await reader.end_offsets(assigned)
    held = waiting = 0
    for tp in assigned:
        committed = await reader.committed(tp)
        replayed_to = max(beginning[tp], committed or 0)
        held += end[tp] - beginning[tp]
        waiting += max(0, end[tp] - replayed_to)
    return DeadLetterSize(held, waiting)


async def refresh_forever(bootstrap_servers: str, topic: str, interval: float) -> None:
    """Set the gauges every ``interval`` seconds until cancelled; while the broker is away
    they keep their last values."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=REPLAY_GROUP,
        client_id="tether-dlq-size",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        while True:
            try:
                size = await dead_letter_size(reader, topic)
            except Exception as exc:
                log.warning("dead_letter_size_unknown", topic=topic, error=str(exc))
            else:
                HELD.set(size.held)
                WAITING.set(size.waiting)
            await asyncio.sleep(interval)
    finally:
        await reader.stop()
