"""A connector's pipeline over the fake provider, wired by the app factory, driven by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_common.db import create_engine, transaction
from tether_connector_runtime.app import _build_state
from tether_connector_runtime.outbox import ConnectorRelay
from tether_connector_runtime.pipeline import Pipeline, RetrySchedule
from tether_connector_runtime.secrets import generate_key
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.state import ConnectorState
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.repository import StoredLink
from tether_connector_runtime.store.tables import connector_tables
from tether_connector_runtime.testing.fake_items import T0
from tether_connector_runtime.testing.fake_provider import FakeCredentials, FakeProvider
from tether_connector_runtime.testing.inline_sqlite import inline_creator
from tether_events import CloudEvent
from tether_events.bus import CoalesceKey, Handler, NewerOf

DataT = TypeVar("DataT")


@dataclass
class ManualClock:
    """The pipeline's clock (``Pipeline.now``), moved only by the test: retries fall due when
    the test says, never by waiting."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class RecordingBus:
    """An :class:`~tether_events.bus.EventBus` that keeps what the relay publishes, in order.
    ``fail_next``: the next N publishes raise (the broker down). Subscriptions are kept as
    (topics, consumer group) and never delivered to: a rig's test hands events to the
    pipeline itself."""

    def __init__(self) -> None:
        self.published: list[tuple[str, CloudEvent[Any]]] = []
        self.subscriptions: list[tuple[tuple[str, ...], str]] = []
        self.fail_next = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("the broker is down")
        self.published.append((topic, event))

    def subscribe(
        self,
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        *,
        coalesce_by: CoalesceKey | None = None,
        newer_of: NewerOf | None = None,
    ) -> None:
        self.subscriptions.append((tuple(topics), group_id))


TEST_TOKEN_KEY = generate_key()


class PipelineRig:
    """One connector's pipeline over a :class:`FakeProvider` and an SQLite file, wired by the
    app factory's own ``_build_state`` (so tests run the production wiring), driven by hand:
    no bus consumers, no background retrier, relay or reconciliation. :meth:`restart` builds a
    new pipeline over the same database, as a process started after a crash would."""

    def __init__(
        self,
        fake: FakeProvider,
        database_url: str,
        *,
        retry: RetrySchedule,
        clock: ManualClock,
        deletion_burst_threshold: int,
        burst_window: float = 0.0,
        bus: RecordingBus | None = None,
        migrate: bool = True,
        inline_sqlite: bool = False,
    ) -> None:
        self.fake = fake
        self._inline = inline_sqlite
        self.database_url = database_url
        self.retry = retry
        self.clock = clock
        self.bus = bus or RecordingBus()
        self._migrate = migrate
        self.settings = ConnectorSettings(
            bus="inprocess",
            database_url=database_url,
            token_encryption_key=TEST_TOKEN_KEY,
            deletion_burst_threshold=deletion_burst_threshold,
            # Off unless a test asks: a test makes one write after another at one instant.
            burst_window=burst_window,
            migrate_on_start=False,
        )
        self._engine: AsyncEngine | None = None
        self._http: httpx.AsyncClient | None = None
        self._state: ConnectorState | None = None

    async def start(self) -> None:
        if self._migrate:
            await migrate_connector(self.database_url, self.fake.provider)
        if self._inline:
            database = make_url(self.database_url).database
            assert database, "inline SQLite needs a database file"
            self._engine = create_engine(self.database_url, async_creator=inline_creator(database))
        else:
            self._engine = create_engine(self.database_url)
        self._http = httpx.AsyncClient()
        self._build()

    def _build(self) -> None:
        assert self._engine is not None
        assert self._http is not None
        fake = self.fake
        self._state = _build_state(
            fake.provider, self.settings, self._engine, self.bus, self._http, lambda _: fake
        )
        self._state.pipeline.retry = self.retry
        self._state.pipeline.now = self.clock
        self._state.connections.now = self.clock

    def restart(self) -> None:
        """A new pipeline (turns, outbox signal, connections) over the same database."""
        self._build()

    async def renew(self, fake: FakeProvider, bus: RecordingBus, clock: ManualClock) -> None:
        """The rig as if new, over ``fake``, ``bus`` and ``clock``: every row of the database
        deleted and a new pipeline built, the engine and its connections kept (a simulation runs
        thousands of schedules; a new engine over a fresh database per schedule would be most of
        the time each takes)."""
        assert self._engine is not None, "start() first"
        self.fake, self.bus, self.clock = fake, bus, clock
        async with self._engine.begin() as connection:
            for table in reversed(connector_tables(fake.provider).metadata.sorted_tables):
                await connection.execute(table.delete())
        self._build()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._engine is not None:
            await self._engine.dispose()

    @property
    def pipeline(self) -> Pipeline:
        assert self._state is not None, "start() first"
        return self._state.pipeline

    @property
    def state(self) -> ConnectorState:
        assert self._state is not None, "start() first"
        return self._state

    async def connect(self, tenant_id: str, token: str) -> str:
        """A connection for ``tenant_id`` with the account ``token`` names; its id."""
        account = await self.fake.authenticate(FakeCredentials(token=token))
        return (await self.state.connections.store(tenant_id, account)).id

    async def relay(self) -> list[CloudEvent[Any]]:
        """Publish what the outbox holds (as the relay would); returns the events published."""
        p = self.pipeline
        assert self._engine is not None
        before = len(self.bus.published)
        relay = ConnectorRelay(p.provider, self._engine, p.sessions, self.bus, p.outbox)
        await relay.publish_pending()
        return [e for _, e in self.bus.published[before:]]

    def events(self, kind: type[DataT]) -> list[DataT]:
        """The payloads of ``kind`` published so far, in order."""
        return [e.data for _, e in self.bus.published if isinstance(e.data, kind)]

    async def link(self, link_id: str) -> StoredLink:
        p = self.pipeline
        async with transaction(p.sessions) as session:
            found = await p.repo.link(session, link_id)
        assert found is not None, f"no link {link_id}"
        return found

    async def outbox_rows(self) -> list[Any]:
        p = self.pipeline
        t = p.outbox.table
        async with transaction(p.sessions) as session:
            return list(await session.execute(select(t).order_by(t.c.id)))


@asynccontextmanager
async def pipeline_rig(
    fake: FakeProvider,
    database_url: str,
    *,
    retry: RetrySchedule | None = None,
    clock: ManualClock | None = None,
    deletion_burst_threshold: int = 1000,
    burst_window: float = 0.0,
    bus: RecordingBus | None = None,
    migrate: bool = True,
) -> AsyncIterator[PipelineRig]:
    """A started :class:`PipelineRig`; ``retry`` defaults to 1 s doubling to 8 s, given up
    after 60 s (seconds of the manual clock: nothing waits for them). ``bus``: shared by
    several rigs (one log for every connector); ``migrate`` False: the database file is a
    copy of one already migrated; ``burst_window``: seconds (of the manual clock) after a write
    during which a link's changes are held (pipeline/bursts.py), off by default."""
    rig = PipelineRig(
        fake,
        database_url,
        retry=retry or RetrySchedule(base=1.0, cap=8.0, limit=60.0),
        clock=clock or ManualClock(),
        deletion_burst_threshold=deletion_burst_threshold,
        burst_window=burst_window,
        bus=bus,
        migrate=migrate,
    )
    try:
        await rig.start()
        yield rig
    finally:
        await rig.close()
