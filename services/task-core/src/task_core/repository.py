"""Every query task-core runs. Repositories work inside the caller's transaction and never
commit: the unit of work around them decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from task_core.models import (
    ConflictRecord,
    Link,
    OutboxMessage,
    ProcessedEvent,
    Task,
    TaskVersion,
    utcnow,
)
from task_core.pagination import Position


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, task: Task) -> None:
        self._session.add(task)

    async def get(
        self,
        tenant_id: str,
        task_id: str,
        *,
        for_update: bool = False,
        include_deleted: bool = False,
    ) -> Task | None:
        """A live (or, if asked, deleted) task of this tenant; another tenant's is not found."""
        statement = select(Task).where(Task.id == task_id, Task.tenant_id == tenant_id)
        if not include_deleted:
            statement = statement.where(Task.deleted.is_(False))
        if for_update:
            # Writers of one task queue up on its row (PostgreSQL), so each reads the version
            # the previous one committed: no lost update, versions and events stay in order.
            statement = statement.with_for_update()
        return await self._session.scalar(statement)

    async def page(
        self,
        tenant_id: str,
        *,
        limit: int,
        after: Position | None,
        needs_review: bool | None = None,
    ) -> Sequence[Task]:
        """Live tasks in (created_at, id) order, starting after ``after``; if ``needs_review``
        is given, only the flagged (True) or unflagged (False) ones."""
        statement = select(Task).where(Task.tenant_id == tenant_id, Task.deleted.is_(False))
        if needs_review is not None:
            flagged = Task.review.is_not(None)
            statement = statement.where(flagged if needs_review else Task.review.is_(None))
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

    async def versions_page(
        self, task_id: str, *, limit: int, before: int | None
    ) -> Sequence[TaskVersion]:
        """Versions newest first, starting below version ``before``."""
        statement = select(TaskVersion).where(TaskVersion.task_id == task_id)
        if before is not None:
            statement = statement.where(TaskVersion.version < before)
        statement = statement.order_by(TaskVersion.version.desc()).limit(limit)
        return (await self._session.scalars(statement)).all()

    async def version(self, task_id: str, version: int) -> TaskVersion | None:
        return await self._session.get(TaskVersion, (task_id, version))


class ConflictRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, conflict: ConflictRecord) -> None:
        self._session.add(conflict)

    async def page(
        self, tenant_id: str, *, task_id: str | None, limit: int, after: Position | None
    ) -> Sequence[ConflictRecord]:
        """This tenant's conflicts (of one task, if given), newest first, after ``after``."""
        statement = select(ConflictRecord).where(ConflictRecord.tenant_id == tenant_id)
        if task_id is not None:
            statement = statement.where(ConflictRecord.task_id == task_id)
        if after is not None:
            statement = statement.where(
                or_(
                    ConflictRecord.resolved_at < after.created_at,
                    and_(
                        ConflictRecord.resolved_at == after.created_at,
                        ConflictRecord.id < after.id,
                    ),
                )
            )
        statement = statement.order_by(
            ConflictRecord.resolved_at.desc(), ConflictRecord.id.desc()
        ).limit(limit)
        return (await self._session.scalars(statement)).all()

    async def recent(
        self, *, tenant_id: str | None, task_id: str | None, limit: int
    ) -> Sequence[ConflictRecord]:
        """The newest ``limit`` conflicts of every tenant, or of one (``tenant_id``), of one
        task if given (operators' ``tether conflicts``: no tenant is needed to look)."""
        statement = select(ConflictRecord)
        if tenant_id is not None:
            statement = statement.where(ConflictRecord.tenant_id == tenant_id)
        if task_id is not None:
            statement = statement.where(ConflictRecord.task_id == task_id)
        statement = statement.order_by(
            ConflictRecord.resolved_at.desc(), ConflictRecord.id.desc()
        ).limit(limit)
        return (await self._session.scalars(statement)).all()


class LinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, link: Link) -> None:
        self._session.add(link)

    async def get(self, tenant_id: str, link_id: str, *, for_update: bool = False) -> Link | None:
        statement = select(Link).where(Link.id == link_id, Link.tenant_id == tenant_id)
        if for_update:
            statement = statement.with_for_update()
        return await self._session.scalar(statement)

    async def of_task(self, tenant_id: str, task_id: str) -> Sequence[Link]:
        statement = (
            select(Link)
            .where(Link.tenant_id == tenant_id, Link.task_id == task_id)
            .order_by(Link.created_at, Link.id)
        )
        return (await self._session.scalars(statement)).all()

    async def current(self, tenant_id: str, task_id: str, connection_id: str) -> Link | None:
        """The task's link to this connection that is not unlinked (there is at most one)."""
        statement = select(Link).where(
            Link.tenant_id == tenant_id,
            Link.task_id == task_id,
            Link.connection_id == connection_id,
            Link.status != "unlinked",
        )
        return await self._session.scalar(statement)


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

    async def mark_published(self, message_ids: Sequence[int], at: datetime) -> None:
        await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).values(published_at=at)
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
