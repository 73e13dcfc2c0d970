"""A Kafka subscription hands a partition over between batches, never in the middle of one.

A member joining (another replica, or a service restarted after ``kill -9`` with a backlog
waiting) rebalances the group while the first member may still be handling records fetched
before. If the partition moved at once, its next owner would start from the last committed
offset and handle those records beside the first member: a provider write made twice, a later
edit overtaking an earlier one. So the revocation waits for the batch in hand and commits it
(kafka_offsets.FinishBeforeHandover), and the next owner starts after it.

The rebalance is made to happen mid-batch by the handler itself: on its first event it starts
a second member and returns only once the rebalance is seen waiting for it (the handover
counter). No timing is relied on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from tether_events import CloudEvent, TaskChanged, encode
from tether_events.kafka import KafkaBus, ensure_topics
from tether_events.testing import task_changed as event

pytestmark = pytest.mark.integration

PARTITIONS = 2


@pytest.fixture
async def topic(kafka_bootstrap_servers: str) -> str:
    name = f"test-{uuid.uuid4().hex[:10]}.tether.task-changed.v1"
    await ensure_topics(kafka_bootstrap_servers, [name], partitions=PARTITIONS)
    return name


async def send(bootstrap_servers: str, topic: str, events: list[CloudEvent[TaskChanged]]) -> None:
    """Each event to the partition its subject names (``task-<partition>-...``)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for e in events:
            partition = int(e.subject.split("-")[1])
            await producer.send_and_wait(
                topic, encode(e), key=e.subject.encode(), partition=partition
            )
    finally:
        await producer.stop()


def handovers(group: str) -> float:
    return REGISTRY.get_sample_value("tether_consumer_handovers_total", {"group": group}) or 0.0


async def until_waiting_handover(group: str) -> None:
    """Return once a revocation of ``group`` waits for a batch (the counter, polled)."""
    for _ in range(1800):  # 90 s: only a subscription that never rebalances fails it
        if handovers(group) >= 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no rebalance waited for the batch in hand")


async def test_a_rebalance_waits_for_the_batch_in_hand(
    kafka_bootstrap_servers: str, topic: str
) -> None:
    # Events on both partitions, so whichever one the second member gets, it has work.
    def wave(n: int) -> list[CloudEvent[TaskChanged]]:
        return [event(f"task-{p}-{k}", n) for p in range(PARTITIONS) for k in range(5)]

    first_wave, second_wave = wave(1), wave(2)
    await send(kafka_bootstrap_servers, topic, first_wave)

    group = f"rebalance-{uuid.uuid4().hex[:8]}"
    handled_by: dict[str, Counter[str]] = {"first": Counter(), "second": Counter()}
    everything = {e.id for e in first_wave + second_wave}
    all_seen = asyncio.Event()
    handover_seen = asyncio.Event()

    def handled(member: str, e: CloudEvent[Any]) -> None:
        handled_by[member][e.id] += 1
        if set(handled_by["first"]) | set(handled_by["second"]) >= everything:
            all_seen.set()

    second = KafkaBus(kafka_bootstrap_servers, client_id="second")

    async def handle_second(e: CloudEvent[Any]) -> None:
        handled("second", e)

    second.subscribe([topic], group, handle_second)
    second_started: list[asyncio.Task[None]] = []

    async def handle_first(e: CloudEvent[Any]) -> None:
        if not second_started:
            # Not awaited: a consumer's start returns once it has partitions, which is after
            # the rebalance, which waits for this very batch.
            second_started.append(asyncio.create_task(second.start()))
            # The second member's join makes the group rebalance; the first member's
            # revocation must wait for this batch, still in hand.
            await until_waiting_handover(group)
            handover_seen.set()
        handled("first", e)

    first = KafkaBus(kafka_bootstrap_servers, client_id="first")
    first.subscribe([topic], group, handle_first)
    await first.start()
    try:
        # The deadlines only turn a subscription that stopped reading into a failure.
        await asyncio.wait_for(handover_seen.wait(), timeout=90)
        await asyncio.wait_for(second_started[0], timeout=90)
        # After the rebalance each member owns one partition: the second wave has events
        # for both.
        await send(kafka_bootstrap_servers, topic, second_wave)
        await asyncio.wait_for(all_seen.wait(), timeout=90)
    finally:
        # Stopping re-raises what ended a subscription's loop: nothing may have.
        await first.stop()
        await second.stop()
    both = handled_by["first"] + handled_by["second"]
    assert [id_ for id_, n in both.items() if n > 1] == []
    assert set(handled_by["first"]) >= {e.id for e in first_wave}
    assert handled_by["second"], "the second member never owned a partition"
    assert handovers(group) == 1
