"""Task use cases. Every accepted change commits, in one transaction, the task (clock bumped,
version + 1), its history row and its TaskChanged event in the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.events import task_changed
from task_core.metrics import TASK_CHANGES
from task_core.models import Task, TaskVersion, new_id, utcnow
from task_core.outbox import Outbox
from task_core.pagination import Position
from task_core.repository import TaskRepository
from tether_common.db import transaction
from tether_common.errors import NotFound
from tether_contracts.tasks import TaskCreate, TaskPatch
from tether_events import VectorClock

CORE = "core"
# In this order in events and history rows, whatever order a request named them in.
SYNCED_FIELDS = ("title", "description", "due_date", "completed")


class TaskNotFound(NotFound):
    code = "task_not_found"


def snapshot(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "description": task.description,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "completed": task.completed,
        "deleted": task.deleted,
    }


class TaskService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        topic: str,
        write_lock: AbstractAsyncContextManager[object],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """``write_lock`` serialises writers in this process where the database cannot
        (SQLite); ``topic`` is where TaskChanged events go."""
        self._sessions = sessions
        self._outbox = outbox
        self._topic = topic
        self._write_lock = write_lock
        self._now = now

    async def create(self, tenant_id: str, body: TaskCreate) -> Task:
        now = self._now()
        task = Task(
            id=new_id(),
            tenant_id=tenant_id,
            **body.model_dump(),
            deleted=False,
            clock={},
            version=0,
            created_at=now,
        )
        async with self._writing() as session:
            TaskRepository(session).add(task)
            self._record(session, task, SYNCED_FIELDS, clock=VectorClock().increment(CORE), at=now)
        self._committed("created")
        return task

    async def get(self, tenant_id: str, task_id: str) -> Task:
        async with transaction(self._sessions) as session:
            return await self._find(TaskRepository(session), tenant_id, task_id)

    async def page(
        self, tenant_id: str, *, limit: int, after: Position | None
    ) -> tuple[Sequence[Task], Position | None]:
        """Up to ``limit`` live tasks after ``after``, and where the next page starts (if any)."""
        async with transaction(self._sessions) as session:
            rows = await TaskRepository(session).page(tenant_id, limit=limit + 1, after=after)
        items = rows[:limit]
        more = len(rows) > limit
        return items, Position(items[-1].created_at, items[-1].id) if more else None

    async def update(self, tenant_id: str, task_id: str, patch: TaskPatch) -> Task:
        wanted = patch.changes()
        async with self._writing() as session:
            task = await self._find(TaskRepository(session), tenant_id, task_id, for_update=True)
            changed = [f for f in SYNCED_FIELDS if f in wanted and getattr(task, f) != wanted[f]]
            # A patch that changes nothing is no change: no version, no event, nothing to sync.
            if changed:
                for name in changed:
                    setattr(task, name, wanted[name])
                self._record(session, task, changed, clock=VectorClock(task.clock).increment(CORE))
        if changed:
            self._committed("updated")
        return task

    async def delete(self, tenant_id: str, task_id: str) -> None:
        """Soft delete: the task keeps its history and connectors learn of it from the event."""
        async with self._writing() as session:
            task = await self._find(TaskRepository(session), tenant_id, task_id, for_update=True)
            task.deleted = True
            self._record(session, task, ["deleted"], clock=VectorClock(task.clock).increment(CORE))
        self._committed("deleted")

    # ------------------------------------------------------------------------------------------
    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, transaction(self._sessions) as session:
            yield session

    @staticmethod
    async def _find(
        tasks: TaskRepository, tenant_id: str, task_id: str, *, for_update: bool = False
    ) -> Task:
        task = await tasks.get(tenant_id, task_id, for_update=for_update)
        if task is None:
            raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
        return task

    def _record(
        self,
        session: AsyncSession,
        task: Task,
        changed_fields: Sequence[str],
        *,
        clock: VectorClock,
        origin: str = CORE,
        at: datetime | None = None,
    ) -> None:
        """Stamp an accepted change on ``task`` and queue its history row and event."""
        now = at or self._now()
        task.clock = clock.to_dict()
        task.version += 1
        task.updated_at = now
        TaskRepository(session).add_version(
            TaskVersion(
                task_id=task.id,
                version=task.version,
                tenant_id=task.tenant_id,
                fields=snapshot(task),
                clock=task.clock,
                origin=origin,
                changed_fields=list(changed_fields),
                recorded_at=now,
            )
        )
        event = task_changed(task, origin=origin, changed_fields=changed_fields)
        self._outbox.add(session, self._topic, event, key=task.id)

    def _committed(self, change: str) -> None:
        TASK_CHANGES.labels(change).inc()
        self._outbox.committed()
