"""task-core on a real PostgreSQL server and a real Kafka broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.app import create_app
from task_core.config import TaskCoreSettings
from task_core.models import OutboxMessage
from task_core.relay import Leadership, RelayHooks
from tether_common.db import create_engine
from tether_events import CloudEvent, TaskChanged, Topic, VectorClock, decode, topic_name

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
Hook = Callable[[OutboxMessage], Awaitable[None]]
Stall = Callable[[], tuple[asyncio.Event, Hook]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]


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
    first, second = (Leadership(engine) for engine in engines)
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
