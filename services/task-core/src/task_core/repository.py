"""Every query task-core runs. Repositories work inside the caller's transaction and never
commit: the unit of work around them decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from task_core.models import OutboxMessage, ProcessedEvent, Task, TaskVersion, utcnow
from task_core.pagination import Position


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, task: Task) -> None:
        self._session.add(task)

    async def get(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> Task | None:
        """A live (not deleted) task of this tenant; another tenant's task is not found."""
        statement = select(Task).where(
            Task.id == task_id, Task.tenant_id == tenant_id, Task.deleted.is_(False)
        )
        if for_update:
            # Writers of one task queue up on its row (PostgreSQL), so each reads the version
            # the previous one committed: no lost update, versions and events stay in order.
            statement = statement.with_for_update()
        return await self._session.scalar(statement)

    async def page(self, tenant_id: str, *, limit: int, after: Position | None) -> Sequence[Task]:
        """Live tasks in (created_at, id) order, starting after ``after``."""
        statement = select(Task).where(Task.tenant_id == tenant_id, Task.deleted.is_(False))
        if after is not None:
            statement = statement.where(
                or_(
                    Task.created_at > after.created_at,
                    and_(Task.created_at == after.created_at, Task.id > after.id),
                )
            )
        statement = statement.order_by(Task.created_at, Task.id).limit(limit)
        return (await self._session.scalars(statement)).all()

    def add_version(self, version: TaskVersion) -> None:
        self._session.add(version)

    async def versions(self, task_id: str) -> Sequence[TaskVersion]:
        statement = (
            select(TaskVersion).where(TaskVersion.task_id == task_id).order_by(TaskVersion.version)
        )
        return (await self._session.scalars(statement)).all()


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, message: OutboxMessage) -> None:
        self._session.add(message)

    async def unpublished(self, limit: int) -> Sequence[OutboxMessage]:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self._session.scalars(statement)).all()

    async def mark_published(self, message_id: int, at: datetime) -> None:
        await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(published_at=at)
        )

    async def backlog(self) -> int:
        statement = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
        )
        return int(await self._session.scalar(statement) or 0)


# The inbox, for consumers of events (provider changes, later). Use both in the transaction
# that applies the event's effect:
#
#     async with transaction(sessions) as session:
#         if await already_processed(session, CONSUMER, event.id):
#             return
#         ...apply the effect...
#         await mark_processed(session, CONSUMER, event.id)
#
# Two deliveries of one event racing each other both pass the check, but only one can insert
# the inbox row: the other's transaction fails and rolls back its effect with it, and its
# redelivery then finds the event processed.


async def already_processed(session: AsyncSession, consumer: str, event_id: str) -> bool:
    statement = select(ProcessedEvent.event_id).where(
        ProcessedEvent.consumer == consumer, ProcessedEvent.event_id == event_id
    )
    return await session.scalar(statement) is not None


async def mark_processed(
    session: AsyncSession, consumer: str, event_id: str, *, at: datetime | None = None
) -> None:
    """Records the event as applied; raises ``IntegrityError`` if it already was."""
    session.add(ProcessedEvent(consumer=consumer, event_id=event_id, processed_at=at or utcnow()))
    # Flush now so a duplicate fails here, inside the effect's transaction, not at commit.
    await session.flush()
