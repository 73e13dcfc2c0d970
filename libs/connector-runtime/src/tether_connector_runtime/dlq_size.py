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
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from tether_connector_runtime.replay import REPLAY_GROUP
from tether_events.kafka_admin import partitions_of

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


async def dead_letter_size(
    admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, topic: str
) -> DeadLetterSize:
    """The topic's size per its offsets: each partition holds ``end - beginning`` records,
    of which those at or after the replay group's committed offset wait. ``reader`` is a
    started consumer in the replay group that never subscribes (so it joins nothing and
    commits nothing); ``admin`` a started admin client. A topic not created yet holds
    nothing."""
    assigned = (await partitions_of(admin, [topic])).get(topic)
    if not assigned:
        return DeadLetterSize(0, 0)
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
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="tether-dlq-size")
    await reader.start()
    await admin.start()
    try:
        while True:
            try:
                size = await dead_letter_size(admin, reader, topic)
            except Exception as exc:
                log.warning("dead_letter_size_unknown", topic=topic, error=str(exc))
            else:
                HELD.set(size.held)
                WAITING.set(size.waiting)
            await asyncio.sleep(interval)
    finally:
        await admin.close()
        await reader.stop()
