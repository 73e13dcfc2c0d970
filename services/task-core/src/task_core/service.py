"""Task use cases of the API. What a change does to a task (values, clock, per-field stamps) is
the sync engine's (``tether_sync.apply_core_edit`` / ``delete_task``); this module persists it:
the task, its history row and its TaskChanged event, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from task_core.core_task import api_changed_fields, edit_values, to_core, write_back
from task_core.metrics import TASK_CHANGES
from task_core.models import ConflictRecord, Task, TaskVersion, new_id
from task_core.pagination import Position
from task_core.repository import ConflictRepository, TaskRepository
from task_core.writer import TaskWriter
from tether_common.errors import NotFound
from tether_common.read_replica import ReadRouting
from tether_contracts.tasks import TaskCreate, TaskPatch
from tether_sync import (
    CORE_REPLICA,
    FIELD_NAMES,
    CoreTask,
    TaskFields,
    apply_core_edit,
    changed_fields,
    delete_task,
)

REVIEW_CLEARED_NOTE = "review_cleared"  # the history row's changed_fields when a flag is cleared


class TaskNotFound(NotFound):
    code = "task_not_found"


async def find_task(
    tasks: TaskRepository,
    tenant_id: str,
    task_id: str,
    *,
    for_update: bool = False,
    include_deleted: bool = False,
) -> Task:
    task = await tasks.get(
        tenant_id, task_id, for_update=for_update, include_deleted=include_deleted
    )
    if task is None:
        raise TaskNotFound(f"task {task_id!r} not found", task_id=task_id)
    return task


def primary_only(writer: TaskWriter) -> ReadRouting:
    """Reads from the database the writer writes to (no replica configured)."""
    return ReadRouting(writer.sessions, None, database="task-core", pin_seconds=1.0)


class TaskService:
    def __init__(self, writer: TaskWriter, reads: ReadRouting | None = None) -> None:
        """``reads``: where reads go (a replica, when one is configured); every read method
        takes ``after``, a WAL position (``X-Tether-Read-After``) the read must reflect."""
        self._writer = writer
        self._reads = reads or primary_only(writer)

    async def create(self, tenant_id: str, body: TaskCreate) -> Task:
        now = self._writer.now()
        values = body.model_dump(exclude={"due_date", "due_at"})
        fields = TaskFields(**values, due=body.due_at or body.due_date)
        core = CoreTask.create(new_id(), fields, at=now)
        task = Task(id=core.task_id, tenant_id=tenant_id, version=0, created_at=now)
        write_back(task, core)
        async with self._writer.writing() as session:
            TaskRepository(session).add(task)
            names = api_changed_fields(FIELD_NAMES, None, core.fields)
            self._writer.record(session, task, names, origin=CORE_REPLICA, at=now)
        self._committed("created")
        return task

    async def get(self, tenant_id: str, task_id: str, *, after: int | None = None) -> Task:
        async def read(session: AsyncSession) -> Task:
            return await find_task(TaskRepository(session), tenant_id, task_id)

        return await self._reads.read(tenant_id, read, after=after)

    async def page(
        self,
        tenant_id: str,
        *,
        limit: int,
        after: Position | None,
        needs_review: bool | None = None,
        read_after: int | None = None,
    ) -> tuple[Sequence[Task], Position | None]:
        """Up to ``limit`` live tasks after ``after``, and where the next page starts (if any);
        only flagged (or only unflagged) ones if ``needs_review`` says so."""

        async def read(session: AsyncSession) -> Sequence[Task]:
            return await TaskRepository(session).page(
                tenant_id, limit=limit + 1, after=after, needs_review=needs_review
            )

        rows = await self._reads.read(tenant_id, read, after=read_after)
        items = rows[:limit]
        more = len(rows) > limit
        return items, Position(items[-1].created_at, items[-1].id) if more else None

    async def history(
        self,
        tenant_id: str,
        task_id: str,
        *,
        limit: int,
        before: int | None,
        read_after: int | None = None,
    ) -> tuple[Sequence[TaskVersion], int | None]:
        """Versions newest first, from below version ``before``; and where the next page starts.

        A deleted task keeps its history readable: it is what tells a person what happened.
        """

        async def read(session: AsyncSession) -> Sequence[TaskVersion]:
            tasks = TaskRepository(session)
            await find_task(tasks, tenant_id, task_id, include_deleted=True)
            return await tasks.versions_page(task_id, limit=limit + 1, before=before)

        rows = await self._reads.read(tenant_id, read, after=read_after)
        items = rows[:limit]
        return items, items[-1].version if len(rows) > limit else None

    async def conflicts(
        self,
        tenant_id: str,
        *,
        task_id: str | None,
        limit: int,
        after: Position | None,
        read_after: int | None = None,
    ) -> tuple[Sequence[ConflictRecord], Position | None]:
        """Recorded conflicts, newest first (of one task, if given), and the next position."""

        async def read(session: AsyncSession) -> Sequence[ConflictRecord]:
            return await ConflictRepository(session).page(
                tenant_id, task_id=task_id, limit=limit + 1, after=after
            )

        rows = await self._reads.read(tenant_id, read, after=read_after)
        items = rows[:limit]
        more = len(rows) > limit
        return items, Position(items[-1].resolved_at, items[-1].id) if more else None

    async def update(self, tenant_id: str, task_id: str, patch: TaskPatch) -> Task:
        values = edit_values(patch.changes())
        async with self._writer.writing() as session:
            task = await find_task(TaskRepository(session), tenant_id, task_id, for_update=True)
            now = self._writer.now()
            before = to_core(task)
            after = apply_core_edit(before, values, at=now)
            # A patch that changes nothing is no change: no version, no event, nothing to sync.
            changed = changed_fields(before.fields, after.fields)
            if changed:
                write_back(task, after)
                names = api_changed_fields(changed, before.fields, after.fields)
                self._writer.record(session, task, names, origin=CORE_REPLICA, at=now)
        if changed:
            self._committed("updated")
        return task

    async def clear_review(self, tenant_id: str, task_id: str) -> Task:
        """A person looked at a flagged task: clear the flag, noted in the history (no event:
        the flag is not synced). Clearing an unflagged task changes nothing."""
        async with self._writer.writing() as session:
            task = await find_task(TaskRepository(session), tenant_id, task_id, for_update=True)
            cleared = task.review is not None
            if cleared:
                task.review = None
                self._writer.record(
                    session,
                    task,
                    [REVIEW_CLEARED_NOTE],
                    origin=CORE_REPLICA,
                    at=self._writer.now(),
                    publish=False,
                )
        if cleared:
            self._writer.committed()
        return task

    async def delete(self, tenant_id: str, task_id: str) -> None:
        """Soft delete: the task keeps its history and connectors learn of it from the event."""
        async with self._writer.writing() as session:
            task = await find_task(TaskRepository(session), tenant_id, task_id, for_update=True)
            write_back(task, delete_task(to_core(task)))
            self._writer.record(
                session, task, ["deleted"], origin=CORE_REPLICA, at=self._writer.now()
            )
        self._committed("deleted")

    def _committed(self, change: str) -> None:
        TASK_CHANGES.labels(change).inc()
        self._writer.committed()
