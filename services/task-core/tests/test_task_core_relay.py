"""The outbox relay loses nothing when the process dies between commit and publish or between
publish and marking, retries a failing bus, and finds commits it was not told about.

A crash is simulated exactly: a relay hook stops the relay at the point under test and the app
is then stopped, which cancels the relay there, as a killed process would leave it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.config import TaskCoreSettings
from task_core.migrate import migrate
from task_core.models import OutboxMessage, ProcessedEvent
from task_core.outbox import Outbox
from task_core.relay import RelayHooks
from task_core.repository import already_processed, mark_processed
from task_core.service import TaskService
from task_core.writer import TaskWriter
from tether_common.db import transaction
from tether_contracts.tasks import TaskCreate
from tether_events import CloudEvent, Topic, VectorClock, topic_name
from tether_events.inprocess import InProcessBus

TASKS = "/internal/v1/tenants/acme/tasks"
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
Hook = Callable[[OutboxMessage], Awaitable[None]]
Stall = Callable[[], tuple[asyncio.Event, Hook]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]
Published = Callable[[], list[CloudEvent[Any]]]


async def test_crash_after_commit_before_publish_publishes_on_restart(
    start_task_core: StartTaskCore,
    stall: Stall,
    wait_for_events: WaitForEvents,
    outbox_rows: OutboxRows,
    published: Published,
) -> None:
    reached, before_publish = stall()
    async with start_task_core(hooks=RelayHooks(before_publish=before_publish)) as api:
        response = await api.post(TASKS, json={"title": "Plan the week"})
        assert response.status_code == 201  # committed: the client was told it exists
        await asyncio.wait_for(reached.wait(), 5)
    # The process is gone: the event is committed but was never sent.
    assert published() == []
    [row] = await outbox_rows()
    assert row.published_at is None

    async with start_task_core():
        [event] = await wait_for_events(1)
    assert event.id == row.event_id
    assert event.data.task_id == response.json()["id"]
    assert event.data.clock == VectorClock({"core": 1})
    assert [r.published_at is not None for r in await outbox_rows()] == [True]
    assert len(published()) == 1


# An effect of a consumer, kept in the same database as its inbox so one transaction holds both.
effects = MetaData()
applied = Table(
    "test_applied_events",
    effects,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64)),
)


async def test_crash_after_publish_before_marking_redelivers_and_a_consumer_applies_once(
    settings: TaskCoreSettings,
    bus: InProcessBus,
    sessions: async_sessionmaker[AsyncSession],
    start_task_core: StartTaskCore,
    stall: Stall,
    outbox_rows: OutboxRows,
    published: Published,
) -> None:
    await migrate(settings.database_url)
    async with sessions() as session:
        await session.run_sync(lambda s: effects.create_all(s.connection()))
        await session.commit()

    deliveries: list[str] = []
    handled = asyncio.Condition()

    async def apply_once(event: CloudEvent[Any]) -> None:
        async with transaction(sessions) as session:
            if not await already_processed(session, "test-consumer", event.id):
                await session.execute(insert(applied).values(event_id=event.id))
                await mark_processed(session, "test-consumer", event.id)
        async with handled:
            deliveries.append(event.id)
            handled.notify_all()

    bus.subscribe([topic_name(Topic.TASK_CHANGED)], "test-consumer", apply_once)

    reached, before_mark = stall()
    async with start_task_core(hooks=RelayHooks(before_mark=before_mark)) as api:
        assert (await api.post(TASKS, json={"title": "Plan the week"})).status_code == 201
        await asyncio.wait_for(reached.wait(), 5)
    # Sent and acknowledged, but the process died before it could note that.
    [row] = await outbox_rows()
    assert row.published_at is None
    assert len(published()) == 1

    async with start_task_core(), asyncio.timeout(5), handled:
        await handled.wait_for(lambda: len(deliveries) == 2)
    copies = published()
    assert [e.id for e in copies] == [row.event_id, row.event_id]
    assert copies[0] == copies[1]  # the very same CloudEvent, not a new one for the same change
    assert deliveries == [row.event_id, row.event_id]
    async with transaction(sessions) as session:
        assert await session.scalar(select(func.count()).select_from(applied)) == 1
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
    assert (await outbox_rows())[0].published_at is not None


async def test_mark_processed_refuses_a_second_record_of_one_event(
    settings: TaskCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy.exc import IntegrityError

    await migrate(settings.database_url)
    async with transaction(sessions) as session:
        assert not await already_processed(session, "c", "e1")
        await mark_processed(session, "c", "e1")
        assert await already_processed(session, "c", "e1")
        # Another consumer keeps its own record of the same event.
        assert not await already_processed(session, "other", "e1")
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await mark_processed(session, "c", "e1")


def relay_failures() -> float:
    return REGISTRY.get_sample_value("tether_task_core_relay_failures_total") or 0.0


class FlakyBus:
    """The in-process bus behind a link that fails the first ``failures`` publishes."""

    def __init__(self, bus: InProcessBus, failures: int) -> None:
        self._bus = bus
        self.failures_left = failures

    async def start(self) -> None:
        await self._bus.start()

    async def stop(self) -> None:
        await self._bus.stop()

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("broker unreachable")
        await self._bus.publish(topic, event, key)

    def subscribe(self, topics: Sequence[str], group_id: str, handler: Any) -> None:
        self._bus.subscribe(topics, group_id, handler)


async def test_a_failing_bus_is_retried_and_writes_keep_succeeding(
    settings: TaskCoreSettings,
    bus: InProcessBus,
    start_task_core: StartTaskCore,
    wait_for_events: WaitForEvents,
) -> None:
    flaky = FlakyBus(bus, failures=3)
    failures_before = relay_failures()
    fast = settings.model_copy(update={"relay_interval": 0.01})
    async with start_task_core(settings=fast, bus=flaky) as api:
        first = await api.post(TASKS, json={"title": "one"})
        second = await api.post(TASKS, json={"title": "two"})
        assert (first.status_code, second.status_code) == (201, 201)
        events = await wait_for_events(2)
    assert [e.data.title for e in events] == ["one", "two"]  # order kept across retries
    assert flaky.failures_left == 0
    assert relay_failures() - failures_before >= 3


async def test_commits_of_another_process_are_found_by_polling(
    settings: TaskCoreSettings,
    sessions: async_sessionmaker[AsyncSession],
    start_task_core: StartTaskCore,
    wait_for_events: WaitForEvents,
) -> None:
    fast = settings.model_copy(update={"relay_interval": 0.05})
    async with start_task_core(settings=fast):
        # Another replica's service: its commits ring its own outbox, not our relay's.
        elsewhere = TaskService(
            TaskWriter(
                sessions,
                Outbox(),
                topic=topic_name(Topic.TASK_CHANGED),
                write_lock=asyncio.Lock(),
            )
        )
        task = await elsewhere.create("acme", TaskCreate(title="from another replica"))
        [event] = await wait_for_events(1)
    assert event.data.task_id == task.id
