"""Fixtures of task-core's tests: a SQLite file per test, the in-process bus, a tap on the
task-changed topic, and a way to start (and "crash") the app with its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.app import create_app
from task_core.config import TaskCoreSettings
from task_core.models import OutboxMessage, ProcessedEvent
from task_core.relay import RelayHooks
from tether_common.db import create_engine, session_factory, transaction
from tether_events import (
    CloudEvent,
    EventBus,
    LinkChanged,
    ProviderItemChanged,
    Topic,
    VectorClock,
    decode,
    topic_name,
)
from tether_events.inprocess import InProcessBus

TASK_CHANGED = topic_name(Topic.TASK_CHANGED)


class Tap:
    """Every event a consumer group of its own receives, in order."""

    def __init__(self) -> None:
        self.events: list[CloudEvent[Any]] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, event: CloudEvent[Any]) -> None:
        async with self._arrived:
            self.events.append(event)
            self._arrived.notify_all()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[CloudEvent[Any]]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return list(self.events)


Hook = Callable[[OutboxMessage], Awaitable[None]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]


def stall_hook() -> tuple[asyncio.Event, Hook]:
    """A relay hook that stops the relay where it is called until the app stops (the crash),
    and an event set once the relay got there."""
    reached = asyncio.Event()

    async def hook(message: OutboxMessage) -> None:
        reached.set()
        await asyncio.Event().wait()

    return reached, hook


StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def settings(tmp_path: Path) -> TaskCoreSettings:
    # A long poll interval: events must leave because a commit woke the relay, not by polling.
    return TaskCoreSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'task-core.db'}",
        bus="inprocess",
        relay_interval=60.0,
    )


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus()
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
async def wait_for_events(bus: InProcessBus) -> WaitForEvents:
    """Waits until a consumer group of its own received at least n task-changed events (all
    since the test began), and returns them."""
    tap = Tap()
    bus.subscribe([TASK_CHANGED], "test-tap", tap)
    return tap.wait_for


@pytest.fixture
def stall() -> Callable[[], tuple[asyncio.Event, Hook]]:
    return stall_hook


@pytest.fixture
def start_task_core(settings: TaskCoreSettings, bus: InProcessBus) -> StartTaskCore:
    """Runs the app (lifespan included) on the shared bus; leaving the block stops it."""

    @asynccontextmanager
    async def start(
        *,
        hooks: RelayHooks | None = None,
        settings: TaskCoreSettings = settings,
        bus: EventBus = bus,
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, bus=bus, relay_hooks=hooks)
        async with (
            LifespanManager(app, startup_timeout=30) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://task-core.test"
            ) as client,
        ):
            yield client

    return start


@pytest.fixture
async def api(start_task_core: StartTaskCore) -> AsyncIterator[httpx.AsyncClient]:
    async with start_task_core() as client:
        yield client


@pytest.fixture
async def sessions(settings: TaskCoreSettings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Direct access to task-core's database, to check what it committed."""
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]
Published = Callable[[], list[CloudEvent[Any]]]


@pytest.fixture
def outbox_rows(sessions: async_sessionmaker[AsyncSession]) -> OutboxRows:
    async def rows() -> list[OutboxMessage]:
        async with transaction(sessions) as session:
            statement = select(OutboxMessage).order_by(OutboxMessage.id)
            return list((await session.scalars(statement)).all())

    return rows


@pytest.fixture
def published(bus: InProcessBus) -> Published:
    """What the bus's log holds for the task-changed topic: every copy, duplicates included."""

    def events() -> list[CloudEvent[Any]]:
        return [decode(raw) for raw in bus.store.logs[TASK_CHANGED].records]

    return events


TapTopic = Callable[[str], Tap]


@pytest.fixture
def tap_topic(bus: InProcessBus) -> TapTopic:
    """A consumer group of its own on any topic (by its physical name)."""

    def make(topic: str) -> Tap:
        tap = Tap()
        bus.subscribe([topic], f"test-tap-{topic}", tap)
        return tap

    return make


WaitProcessed = Callable[[str, str], Awaitable[None]]


@pytest.fixture
def wait_processed(sessions: async_sessionmaker[AsyncSession]) -> WaitProcessed:
    """Waits until task-core's consumer recorded an event (by id) in its inbox."""

    async def wait(consumer: str, event_id: str) -> None:
        async with asyncio.timeout(10):
            while True:
                async with transaction(sessions) as session:
                    row = await session.get(ProcessedEvent, (consumer, event_id))
                if row is not None:
                    return
                await asyncio.sleep(0.02)

    return wait


def provider_event(
    task_id: str,
    *,
    replica: str = "trello:c1",
    base_clock: dict[str, int] | None = None,
    base: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    edited_at: datetime | None = None,
    tenant_id: str = "acme",
    link_id: str = "link-1",
    deleted: bool = False,
    event_id: str | None = None,
    limits: dict[str, int] | None = None,
) -> CloudEvent[ProviderItemChanged]:
    """A connector's ProviderItemChanged, as it would publish it (``limits``: the provider's
    field limits it names)."""
    provider, _, external_id = replica.partition(":")
    data = ProviderItemChanged(
        task_id=task_id,
        tenant_id=tenant_id,
        link_id=link_id,
        provider=provider,
        replica=replica,
        external_id=external_id,
        base_clock=VectorClock(base_clock or {"core": 1}),
        base_values=base or {},
        new_values=new or {},
        deleted=deleted,
        edited_at=edited_at or datetime.now(UTC),
        field_limits=limits or {},
    )
    return data.envelope(
        source="/tether/test-connector", subject=task_id, tenant_id=tenant_id, event_id=event_id
    )


def link_event(
    link: dict[str, Any],
    status: str,
    *,
    external_id: str | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    synced_clock: dict[str, int] | None = None,
    event_id: str | None = None,
) -> CloudEvent[LinkChanged]:
    """A connector's word on a link (``link`` as the API returned it)."""
    data = LinkChanged(
        link_id=link["id"],
        task_id=link["task_id"],
        tenant_id=link["tenant_id"],
        provider=link["provider"],
        status=status,
        replica=f"{link['provider']}:{external_id}" if external_id else None,
        external_id=external_id,
        url=f"https://example.test/{external_id}" if external_id else None,
        error=error,
        next_attempt_at=next_attempt_at,
        synced_clock=None if synced_clock is None else VectorClock(synced_clock),
    )
    return data.envelope(
        source="/tether/test-connector",
        subject=link["task_id"],
        tenant_id=link["tenant_id"],
        event_id=event_id,
    )


ProviderEvent = Callable[..., CloudEvent[ProviderItemChanged]]
LinkEvent = Callable[..., CloudEvent[LinkChanged]]


@pytest.fixture
def make_provider_event() -> ProviderEvent:
    return provider_event


@pytest.fixture
def make_link_event() -> LinkEvent:
    return link_event
