"""The unit of work every writer of tasks shares: API edits, merged provider changes, links.

An accepted change commits, in one transaction, the task (version + 1), its history row and,
when other replicas must hear of it, its TaskChanged event in the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.events import task_changed
from task_core.models import Task, TaskVersion, utcnow
from task_core.outbox import Outbox
from task_core.repository import TaskRepository
from tether_common.db import transaction
from tether_events import CloudEvent
from tether_sync import due_json


def snapshot(task: Task) -> dict[str, Any]:
    """The task's values as a history row keeps them."""
    return {
        "title": task.title,
        "description": task.description,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "due_at": due_json(task.due_at),
        "completed": task.completed,
        "deleted": task.deleted,
    }


class TaskWriter:
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
        self.sessions = sessions
        self.outbox = outbox
        self.topic = topic
        self._write_lock = write_lock
        self.now = now

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, transaction(self.sessions) as session:
            yield session

    def record(
        self,
        session: AsyncSession,
        task: Task,
        changed_fields: Sequence[str],
        *,
        origin: str,
        at: datetime,
        publish: bool = True,
    ) -> None:
        """Version ``task`` (whose values and clock the caller already set) and queue its
        history row and, if ``publish``, its event."""
        task.version += 1
        task.updated_at = at
        TaskRepository(session).add_version(
            TaskVersion(
                task_id=task.id,
                version=task.version,
                tenant_id=task.tenant_id,
                fields=snapshot(task),
                clock=task.clock,
                origin=origin,
                changed_fields=list(changed_fields),
                recorded_at=at,
            )
        )
        if publish:
            event = task_changed(task, origin=origin, changed_fields=changed_fields)
            self.outbox.add(session, self.topic, event, key=task.id)

    def add_event(
        self, session: AsyncSession, topic: str, event: CloudEvent[Any], key: str
    ) -> None:
        self.outbox.add(session, topic, event, key=key)

    def committed(self) -> None:
        """Call after a transaction that queued events committed: the relay sends them now."""
        self.outbox.committed()
