"""A Kafka subscription keeps consuming when its group rebalances in the middle of a batch.

A member joining (another replica, or a service restarted after ``kill -9`` with a backlog
waiting) rebalances the group while the first member may still be handling records fetched
before: its commit of them then fails (``CommitFailedError``). Those records are simply
delivered again to whoever owns the partition now; the subscription must carry on, not end
with the error (it used to: the service stayed up and healthy while that topic was never
read again).

The rebalance is made to happen mid-batch by the handler itself: on its first event it starts
a second member and returns only once that member handled an event, i.e. once the group had
rebalanced under it. No timing is relied on.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tether_events import CloudEvent, TaskChanged, VectorClock, encode
from tether_events.kafka import KafkaBus, ensure_topics

pytestmark = pytest.mark.integration

PARTITIONS = 2


def event(task_id: str, n: int) -> CloudEvent[TaskChanged]:
    data = TaskChanged(
        task_id=task_id,
        tenant_id="acme",
        version=n,
        title=f"v{n}",
        description="",
        due_date=None,
        completed=False,
        deleted=False,
        clock=VectorClock({"core": n}),
        origin="core",
        updated_at=datetime.now(UTC),
    )
    return data.envelope(source="/test", subject=task_id, tenant_id="acme")


@pytest.fixture
async def topic(kafka_bootstrap_servers: str) -> str:
    name = f"test-{uuid.uuid4().hex[:10]}.tether.task-changed.v1"
    await ensure_topics(kafka_bootstrap_servers, [name], partitions=PARTITIONS)
    return name


async def test_a_rebalance_mid_batch_does_not_end_the_subscription(
    kafka_bootstrap_servers: str, topic: str
) -> None:
    # Events on both partitions, so whichever one the second member gets, it has work.
    sent = [event(f"task-{p}-{k}", n) for p in range(PARTITIONS) for k in range(5) for n in (1, 2)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for e in sent:
            partition = int(e.subject.split("-")[1])
            await producer.send_and_wait(
                topic, encode(e), key=e.subject.encode(), partition=partition
            )
    finally:
        await producer.stop()

    group = f"rebalance-{uuid.uuid4().hex[:8]}"
    seen: set[str] = set()
    all_seen = asyncio.Event()

    def handled(e: CloudEvent[Any]) -> None:
        seen.add(e.id)
        if seen >= {s.id for s in sent}:
            all_seen.set()

    second_handled = asyncio.Event()
    second = KafkaBus(kafka_bootstrap_servers, client_id="second")

    async def handle_second(e: CloudEvent[Any]) -> None:
        handled(e)
        second_handled.set()

    second.subscribe([topic], group, handle_second)
    first_started_second = False

    async def handle_first(e: CloudEvent[Any]) -> None:
        nonlocal first_started_second
        if not first_started_second:
            first_started_second = True
            await second.start()
            # The second member handled something: the group rebalanced while this batch
            # was in hand, so the commit after this handler returns is refused.
            await asyncio.wait_for(second_handled.wait(), timeout=60)
        handled(e)

    first = KafkaBus(kafka_bootstrap_servers, client_id="first")
    first.subscribe([topic], group, handle_first)
    await first.start()
    try:
        # The deadline only turns a subscription that stopped reading into a failure.
        await asyncio.wait_for(all_seen.wait(), timeout=90)
    finally:
        # Stopping re-raises what ended a subscription's loop: nothing may have.
        await first.stop()
        await second.stop()
