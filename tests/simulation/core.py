"""Task-core in the simulation: the service's own code over its own SQLite schema.

The task API's use cases (``TaskService``: create, update, delete), exports
(``LinkService.export``), the consumers of provider changes (``ProviderChangeService``: inbox,
merge, conflicts, history, outbox, in one transaction) and of link news
(``LinkService.on_link_changed``: statuses, resends of a state the new item missed), and the
outbox relay (``OutboxRelay.publish_pending``), wired as ``task_core.app`` wires them. The
relay runs right after each commit, as the outbox's doorbell makes it run in the service; its
process may die after the bus took an event and before the row was marked (the next relay then
publishes the same event again).

Tasks and links get task-core's own ids; the simulation names tasks ``task-1``, ``task-2``
and keeps the mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from task_core import links as links_module
from task_core import merging as merging_module
from task_core import service as service_module
from task_core.core_task import to_core
from task_core.links import LinkService
from task_core.merging import ChangeNotReady, ProviderChangeService
from task_core.migrate import migrate
from task_core.models import Base, Link, Task
from task_core.outbox import Outbox
from task_core.relay import OutboxRelay
from task_core.service import TaskService
from task_core.writer import TaskWriter
from tests.simulation.constants import LINK_TOPIC, TASK_TOPIC, TENANT
from tests.simulation.log import Log
from tests.simulation.steps import Crash
from tether_common.db import create_engine, session_factory, transaction
from tether_connector_runtime.testing.inline_sqlite import inline_creator
from tether_contracts.sync import LinkCreate
from tether_contracts.tasks import TaskCreate, TaskPatch
from tether_events import CloudEvent, Topic, topic_name
from tether_sync import FieldName, FieldValue, Provider, SyncPolicy, TaskFields, due_parts
from tether_sync.merge import CoreTask

DEAD_LETTER_TOPIC = topic_name(Topic.DEAD_LETTER)


class Doorbell(Outbox):
    """The outbox, noting when a writer rang it (the service's relay wakes on that)."""

    rung = False

    def committed(self) -> None:
        self.rung = True
        super().committed()


@dataclass(frozen=True)
class EditRecord:
    task: str
    field: FieldName
    value: FieldValue
    at: datetime
    site: str


@dataclass(frozen=True)
class CoreLink:
    """A link as task-core's table holds it (``task_id``: the simulation's name)."""

    link_id: str
    task_id: str
    provider: Provider
    status: str


@contextlib.contextmanager
def seeded_ids(seed: int = 0) -> Iterator[None]:
    """Task-core's new ids (tasks, links, conflicts) from a seeded generator meanwhile: still
    version-4 UUIDs, but the same ones each time a schedule runs, so that a failing schedule
    replays exactly (rows are read back in id order in places)."""
    rng = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    modules = (links_module, merging_module, service_module)
    real = [module.new_id for module in modules]
    for module in modules:
        module.new_id = new_id  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, real, strict=True):
            module.new_id = original  # type: ignore[attr-defined]


class CoreDatabase:
    """Task-core's SQLite file, migrated once for a whole test and emptied for each schedule."""

    def __init__(self, path: str) -> None:
        self.url = f"sqlite+aiosqlite:///{path}"
        self._path = path
        self._engine: AsyncEngine | None = None

    async def start(self) -> None:
        await migrate(self.url)
        self._engine = create_engine(self.url, async_creator=inline_creator(self._path))

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "start() first"
        return self._engine

    async def renew(self) -> None:
        async with self.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()


class Core:
    """Task-core's services over ``database``, publishing to ``log``; ``tasks`` and ``links``
    mirror its tables as of the last :meth:`mirror` (for the schedule and the checks)."""

    def __init__(self, database: CoreDatabase, log: Log, now: Callable[[], datetime]) -> None:
        self.database = database
        self.log = log
        self.now = now
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(database.engine)
        self.ids: dict[str, str] = {}  # the simulation's task name -> task-core's id
        self._names: dict[str, str] = {}
        self.tasks: dict[str, CoreTask] = {}
        self.links: dict[str, CoreLink] = {}
        # A provider change core could not merge yet (its predecessor is missing): the group
        # stays on it, as the bus redelivers it until it can be merged.
        self.not_ready: str | None = None
        self.crash_relay = False  # the relay's next publish is its process's last act
        self.unrelayed = False
        self._stale = True
        self._build()

    def _build(self) -> None:
        """The services as a (re)started process has them: nothing survives but the database."""
        self._outbox = outbox = Doorbell()
        write_lock = asyncio.Lock()  # SQLite: one writer at a time (as task_core.app does)
        writer = TaskWriter(
            self.sessions, outbox, topic=TASK_TOPIC, write_lock=write_lock, now=self.now
        )
        self.task_service = TaskService(writer)
        self.link_service = LinkService(writer, topic=LINK_TOPIC)
        self.changes = ProviderChangeService(
            writer, policy=SyncPolicy(), dead_letter_topic=DEAD_LETTER_TOPIC
        )
        self._relay = OutboxRelay(
            self.database.engine, self.sessions, self.log, outbox, write_lock=write_lock
        )

    def link_of(self, task: str, provider: Provider) -> str | None:
        for link in self.links.values():
            if link.task_id == task and link.provider == provider:
                return link.link_id
        return None

    # The API's use cases ---------------------------------------------------------------------
    async def create(self, name: str, fields: TaskFields) -> None:
        due_date, due_at = due_parts(fields.due)
        body = TaskCreate(
            title=fields.title,
            description=fields.description,
            due_date=due_date,
            due_at=due_at,
            completed=fields.completed,
        )
        task = await self.task_service.create(TENANT, body)
        self.ids[name], self._names[task.id] = task.id, name
        await self._committed()

    async def edit(self, name: str, field: FieldName, value: FieldValue) -> None:
        if field == "due":
            patch: dict[str, Any] = {"due_at" if isinstance(value, datetime) else "due_date": value}
        else:
            patch = {field: value}
        await self.task_service.update(TENANT, self.ids[name], TaskPatch.model_validate(patch))
        await self._committed()

    async def delete(self, name: str) -> None:
        await self.task_service.delete(TENANT, self.ids[name])
        await self._committed()

    async def export(self, name: str, provider: Provider, connection_id: str) -> None:
        target = {"container_id": f"{provider}-board"}
        body = LinkCreate(provider=provider, connection_id=connection_id, target=target)
        await self.link_service.export(TENANT, self.ids[name], body)
        await self._committed()

    # The consumer ------------------------------------------------------------------------------
    async def on_change(self, event: CloudEvent[Any]) -> bool:
        """Handle a provider change; False if it cannot be merged yet (it stays next)."""
        try:
            await self.changes.on_provider_changed(event)
        except ChangeNotReady:
            self.not_ready = event.id
            return False
        self.not_ready = None
        await self._committed()
        return True

    async def on_link(self, event: CloudEvent[Any]) -> bool:
        await self.link_service.on_link_changed(event)
        await self._committed()
        return True

    # The relay ---------------------------------------------------------------------------------
    async def relay(self) -> None:
        """Publish what the outbox holds; a crash armed by ``crash_relay`` kills the process
        after the bus took the first event (it is restarted at once)."""
        self._outbox.rung = False
        self.log.crash_next, self.crash_relay = self.crash_relay, False
        try:
            await self._relay.publish_pending()
            self.unrelayed = False
        except Crash:
            self.unrelayed = True
            self._build()
        finally:
            self.log.crash_next = False

    async def _committed(self) -> None:
        """After a transaction: the relay runs if the doorbell rang (as in the service) or
        a crashed relay left rows behind."""
        self._stale = True
        if self._outbox.rung or self.unrelayed:
            await self.relay()

    async def mirror(self) -> None:
        """Read ``tasks`` and ``links`` again if anything was committed since."""
        if not self._stale:
            return
        self._stale = False
        async with transaction(self.sessions) as session:
            tasks = (await session.execute(select(Task))).scalars().all()
            links = (await session.execute(select(Link))).scalars().all()
        self.tasks = {self._names[t.id]: to_core(t) for t in tasks}
        self.links = {
            link.id: CoreLink(link.id, self._names[link.task_id], link.provider, link.status)
            for link in links
        }
