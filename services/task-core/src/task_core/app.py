"""task-core's FastAPI application and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.config import TaskCoreSettings
from task_core.consistency import pin_writes
from task_core.consumer import Subscription
from task_core.endpoints import router as tasks_router
from task_core.history_api import router as history_router
from task_core.links import LinkService
from task_core.links_api import router as links_router
from task_core.merging import ProviderChangeService
from task_core.migrate import migrate
from task_core.outbox import Outbox
from task_core.readiness import readiness
from task_core.relay import OutboxRelay, RelayHooks
from task_core.service import TaskService
from task_core.state import STATE_KEY, TaskCoreState
from task_core.writer import TaskWriter
from tether_common.bus import build_bus
from tether_common.db import create_engine, is_sqlite, session_factory
from tether_common.read_replica import ReadRouting
from tether_common.service import build_service_app
from tether_events import EventBus, Topic, topic_name
from tether_events.kafka import ensure_topics

SERVICE = "task-core"
log = structlog.get_logger(__name__)


async def _own_bus(settings: TaskCoreSettings) -> EventBus:
    """The configured bus, not started yet: our subscription joins it before it starts."""
    if settings.bus == "kafka":
        # Created with our partition count (broker auto-creation would pick its own), and
        # before our consumer subscribes to the topics it reads.
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [topic_name(topic, settings.topic_namespace) for topic in Topic],
            partitions=settings.topic_partitions,
        )
    return build_bus(settings, client_id=SERVICE)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _relay_stopped(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("outbox_relay_stopped", error=repr(task.exception()))


def create_app(
    settings: TaskCoreSettings | None = None,
    *,
    bus: EventBus | None = None,
    relay_hooks: RelayHooks | None = None,
) -> FastAPI:
    """The task-core app.

    ``bus``: a shared bus (embedded mode, tests); its owner starts and stops it. Without one,
    the app builds the configured bus and starts and stops it with itself.
    ``relay_hooks``: fault injection for tests (see :class:`task_core.relay.RelayHooks`).
    """
    settings = settings or TaskCoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        if settings.migrate_on_start:
            await migrate(settings.database_url)
        async with AsyncExitStack() as stack:
            engine = create_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            active_bus = bus if bus is not None else await _own_bus(settings)
            sessions = session_factory(engine)
            outbox = Outbox()
            # SQLite has no row locks (FOR UPDATE is ignored there): two writers of one task
            # would read the same version and the second would fail on the history key.
            # SQLite runs one writer at a time anyway; queueing them here just makes them wait.
            write_lock: AbstractAsyncContextManager[object] = (
                asyncio.Lock() if is_sqlite(settings.database_url) else contextlib.nullcontext()
            )
            namespace = settings.topic_namespace
            writer = TaskWriter(
                sessions,
                outbox,
                topic=topic_name(Topic.TASK_CHANGED, namespace),
                write_lock=write_lock,
            )
            reads = await stack.enter_async_context(_read_routing(settings, sessions))
            links = LinkService(writer, topic=topic_name(Topic.LINK_EVENTS, namespace), reads=reads)
            subscription = Subscription(
                ProviderChangeService(
                    writer,
                    policy=settings.sync_policy,
                    dead_letter_topic=topic_name(Topic.DEAD_LETTER, namespace),
                ),
                links,
            )
            # Registered here so it works on our own bus and on an injected one alike (whose
            # owner starts it, or which starts it at once if it already runs).
            subscription.subscribe(active_bus, namespace)
            if bus is None:
                await active_bus.start()
                stack.push_async_callback(active_bus.stop)
            relay = OutboxRelay(
                engine,
                sessions,
                active_bus,
                outbox,
                write_lock=write_lock,
                batch_size=settings.relay_batch_size,
                interval=settings.relay_interval,
                hooks=relay_hooks,
            )
            relay_task = asyncio.create_task(relay.run(), name="task-core-outbox-relay")
            relay_task.add_done_callback(_relay_stopped)
            # Stopped before the bus and the engine it uses (the stack unwinds in reverse).
            stack.push_async_callback(_cancel, relay_task)
            # First thing at shutdown: no further event is taken on (see Subscription).
            stack.callback(subscription.close)
            state = TaskCoreState(
                settings=settings,
                engine=engine,
                sessions=sessions,
                bus=active_bus,
                outbox=outbox,
                tasks=TaskService(writer, reads),
                links=links,
                relay=relay,
                relay_task=relay_task,
                reads=reads,
            )
            setattr(app.state, STATE_KEY, state)
            # Requests after shutdown must fail loudly, not use a disposed engine.
            stack.callback(delattr, app.state, STATE_KEY)
            log.info(
                "task_core_started",
                # The backend only: the URL may carry a password.
                database=make_url(settings.database_url).get_backend_name(),
                read_replica=settings.read_database_url is not None,
                bus=settings.bus if bus is None else "injected",
            )
            yield {STATE_KEY: state}

    app = build_service_app(
        service=SERVICE,
        title="Tether task-core (internal)",
        description="Owns tasks, their vector clocks, history and links; publishes TaskChanged "
        "events, merges provider changes, records conflicts.",
        version=version("tether-task-core"),
        lifespan=lifespan,
        routers=[tasks_router, history_router, links_router],
        readiness=readiness,
    )
    app.middleware("http")(pin_writes)
    return app


@asynccontextmanager
async def _read_routing(
    settings: TaskCoreSettings, primary: async_sessionmaker[AsyncSession]
) -> AsyncIterator[ReadRouting]:
    """Reads from the read replica when one is configured, else from the primary."""
    if settings.read_database_url is None:
        yield ReadRouting(
            primary, None, database=SERVICE, pin_seconds=settings.read_your_writes_seconds
        )
        return
    # A replica that does not answer must not hold a read up long: it falls back instead.
    replica = create_engine(settings.read_database_url, connect_args={"timeout": 5})
    try:
        yield ReadRouting(
            primary,
            session_factory(replica),
            database=SERVICE,
            pin_seconds=settings.read_your_writes_seconds,
        )
    finally:
        await replica.dispose()
