"""task-core on a real PostgreSQL server and a real Kafka broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.app import create_app
from task_core.config import TaskCoreSettings
from task_core.links import CONSUMER as LINKS_CONSUMER
from task_core.merging import CONSUMER as PROVIDER_CONSUMER
from task_core.models import OutboxMessage
from task_core.relay import LOCK_NAME, RelayHooks
from tether_common.db import create_engine
from tether_common.leadership import Leadership
from tether_events import (
    CloudEvent,
    TaskChanged,
    Topic,
    VectorClock,
    decode,
    encode,
    topic_name,
)
from tether_events.inprocess import InProcessBus

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
CONFLICTS = "/internal/v1/tenants/acme/conflicts"
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
Hook = Callable[[OutboxMessage], Awaitable[None]]
Stall = Callable[[], tuple[asyncio.Event, Hook]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]
WaitProcessed = Callable[[str, str], Awaitable[None]]


@pytest.fixture
def settings(database_url: str) -> TaskCoreSettings:
    # Overrides conftest's SQLite settings: every fixture built on it now uses PostgreSQL.
    return TaskCoreSettings(database_url=database_url, bus="inprocess", relay_interval=60.0)


async def test_task_lifecycle_and_events_on_postgresql(
    start_task_core: StartTaskCore, wait_for_events: WaitForEvents
) -> None:
    async with start_task_core() as api:
        created = (await api.post(TASKS, json={"title": "a", "due_date": "2026-12-01"})).json()
        second = (await api.post(TASKS, json={"title": "b"})).json()
        task_url = f"{TASKS}/{created['id']}"
        # Writers of one task queue on its row lock: no lost update, no duplicate version.
        patches = await asyncio.gather(
            *(api.patch(task_url, json={"description": f"edit {n}"}) for n in range(8))
        )
        assert sorted(p.json()["version"] for p in patches) == list(range(2, 10))
        assert (await api.delete(task_url)).status_code == 204
        assert (await api.get(task_url)).status_code == 404
        assert (
            await api.get(f"/internal/v1/tenants/globex/tasks/{second['id']}")
        ).status_code == 404
        page = (await api.get(TASKS, params={"limit": 1})).json()
        assert [t["id"] for t in page["items"]] == [second["id"]]
        assert page["next_cursor"] is None
        events = await wait_for_events(11)
    mine = [e.data for e in events if e.subject == created["id"]]
    assert [d.clock for d in mine] == [VectorClock({"core": n}) for n in range(1, 11)]
    assert mine[-1].deleted is True
    assert str(mine[0].due_date) == "2026-12-01"


async def test_only_one_relay_publishes_at_a_time(database_url: str) -> None:
    # Two engines: two task-core processes' relays.
    engines = [create_engine(database_url), create_engine(database_url)]
    first, second = (Leadership(engine, LOCK_NAME) for engine in engines)
    try:
        assert await first.acquire()
        assert await first.acquire()  # still leading: its session is alive
        assert not await second.acquire()
        await first.release()
        assert await second.acquire()
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()
        for engine in engines:
            await engine.dispose()


async def read_topic(
    bootstrap_servers: str, topic: str, *, subject: str, within: float = 20.0
) -> list[CloudEvent[Any]]:
    """Every event about ``subject`` on ``topic`` from the beginning, once one arrived."""
    # No consumer group: nothing to join or commit, so reading starts at once.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    events: list[CloudEvent[Any]] = []
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                events.extend(decode(m.value) for m in messages if m.key == subject.encode())
            if events and not batches:
                break  # found it, and nothing more is coming
    finally:
        await consumer.stop()
    return events


async def test_crash_after_commit_publishes_to_kafka_on_restart(
    database_url: str,
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    stall: Stall,
    sessions: async_sessionmaker[AsyncSession],
    outbox_rows: OutboxRows,
) -> None:
    settings = TaskCoreSettings(
        database_url=database_url,
        bus="kafka",
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_namespace=topic_namespace,
        topic_partitions=3,
        relay_interval=60.0,
    )
    reached, before_publish = stall()
    # The app builds, starts and stops its own KafkaBus, creating its topic: distributed mode.
    crashing = create_app(settings, relay_hooks=RelayHooks(before_publish=before_publish))
    async with (
        LifespanManager(crashing, startup_timeout=60) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://t"
        ) as api,
    ):
        ready = await api.get("/readyz")
        assert ready.json()["checks"] == {"database": "ok", "outbox_relay": "ok", "bus": "ok"}
        created = await api.post(TASKS, json={"title": "survives a crash"})
        assert created.status_code == 201
        await asyncio.wait_for(reached.wait(), 10)
    [row] = await outbox_rows()
    assert row.published_at is None

    restarted = create_app(settings)
    async with LifespanManager(restarted, startup_timeout=60):
        task_id = created.json()["id"]
        events = await read_topic(
            kafka_bootstrap_servers,
            topic_name(Topic.TASK_CHANGED, topic_namespace),
            subject=task_id,
        )
    assert [e.id for e in events] == [row.event_id]
    data = events[0].data
    assert isinstance(data, TaskChanged)
    assert (data.task_id, data.title, data.clock) == (
        task_id,
        "survives a crash",
        VectorClock({"core": 1}),
    )
    assert (await outbox_rows())[0].published_at is not None


async def test_merges_conflicts_and_links_on_postgresql(
    start_task_core: StartTaskCore,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    wait_processed: WaitProcessed,
    make_provider_event: Callable[..., CloudEvent[Any]],
    make_link_event: Callable[..., CloudEvent[Any]],
) -> None:
    provider_changed = topic_name(Topic.PROVIDER_CHANGED)
    link_events = topic_name(Topic.LINK_EVENTS)
    async with start_task_core() as api:
        task = (await api.post(TASKS, json={"title": "Plan"})).json()
        await api.patch(f"{TASKS}/{task['id']}", json={"title": "Core"})
        # Exports of one task queue on its row lock: exactly one link per connection.
        body = {"provider": "trello", "connection_id": "trello_1", "target": {"list_id": "L"}}
        exports = await asyncio.gather(
            *(api.post(f"{TASKS}/{task['id']}/links", json=body) for _ in range(4))
        )
        assert sorted(r.status_code for r in exports) == [202, 409, 409, 409]
        link = next(r.json() for r in exports if r.status_code == 202)

        active = make_link_event(link, "active", external_id="c1")
        await bus.publish(link_events, active)
        await wait_processed(LINKS_CONSUMER, active.id)
        later = datetime.now(UTC) + timedelta(minutes=5)
        change = make_provider_event(
            task["id"],
            link_id=link["id"],
            base={"title": "Plan", "due_date": None},
            new={"title": "Trello", "due_date": "2026-12-24"},
            edited_at=later,
        )
        await bus.publish(provider_changed, change)
        await bus.publish(provider_changed, change)
        merged = (await wait_for_events(3))[2].data
        assert (merged.title, str(merged.due_date)) == ("Trello", "2026-12-24")
        assert merged.clock == VectorClock({"core": 3, "trello:c1": 1})

        conflicts = (await api.get(CONFLICTS, params={"task_id": task["id"]})).json()["items"]
        assert [(c["field"], c["winner"], c["core_value"]) for c in conflicts] == [
            ("title", "trello:c1", "Core")
        ]
        gone = make_provider_event(task["id"], link_id=link["id"], deleted=True)
        await bus.publish(provider_changed, gone)
        await wait_processed(PROVIDER_CONSUMER, gone.id)
        links = (await api.get(f"{TASKS}/{task['id']}/links")).json()
        assert [(item["status"], item["external_id"]) for item in links] == [("unlinked", "c1")]
        history = (await api.get(f"{TASKS}/{task['id']}/history", params={"limit": 2})).json()
        assert [(h["version"], h["origin"], h["changed_fields"]) for h in history["items"]] == [
            (4, "trello:c1", ["unlinked"]),
            (3, "trello:c1", ["title", "due_date"]),
        ]
        assert history["next_cursor"] is not None


async def test_provider_changes_on_kafka_are_merged_by_its_own_bus(
    database_url: str,
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    make_provider_event: Callable[..., CloudEvent[Any]],
) -> None:
    settings = TaskCoreSettings(
        database_url=database_url,
        bus="kafka",
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_namespace=topic_namespace,
        topic_partitions=3,
    )
    app = create_app(settings)  # builds its KafkaBus, creates the topics, subscribes
    async with (
        LifespanManager(app, startup_timeout=60) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://t"
        ) as api,
    ):
        task = (await api.post(TASKS, json={"title": "Plan"})).json()
        change = make_provider_event(
            task["id"], base={"title": "Plan"}, new={"title": "From Kafka"}
        )
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic_name(Topic.PROVIDER_CHANGED, topic_namespace),
                encode(change),
                key=task["id"].encode(),
            )
        finally:
            await producer.stop()
        async with asyncio.timeout(30):
            while True:
                if (await api.get(f"{TASKS}/{task['id']}")).json()["title"] == "From Kafka":
                    break
                await asyncio.sleep(0.2)
        events = await read_topic(
            kafka_bootstrap_servers,
            topic_name(Topic.TASK_CHANGED, topic_namespace),
            subject=task["id"],
        )
    assert [e.data.clock for e in events] == [
        VectorClock({"core": 1}),
        VectorClock({"core": 2, "trello:c1": 1}),
    ]
