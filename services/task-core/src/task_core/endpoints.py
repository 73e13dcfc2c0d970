"""task-core's internal task API, called by the gateway on behalf of one tenant.

The tenant comes in the path; every query is scoped by it, so another tenant's task is simply
not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from task_core.consistency import ReadAfter
from task_core.models import Task
from task_core.pagination import InvalidCursor, decode_cursor, encode_cursor
from task_core.state import Tasks
from tether_contracts.tasks import TaskCreate, TaskOut, TaskPage, TaskPatch, TaskReview
from tether_events import VectorClock

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"

TenantId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
# Ids go into queries: text no row can hold (NUL, which PostgreSQL refuses) is a 422 up front.
TaskId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/tasks", tags=["tasks"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such live task for this tenant (`task_not_found`)"}
}


Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=1024, description="`next_cursor` of the previous page")
]
NeedsReview = Annotated[
    bool | None,
    Query(description="Only tasks flagged for review (true) or only unflagged ones (false)"),
]
T = TypeVar("T")


def decoded(decode: Callable[[str], T], cursor: str | None) -> T | None:
    """The position a cursor names; a cursor we did not issue is a 422 naming it."""
    if cursor is None:
        return None
    try:
        return decode(cursor)
    except InvalidCursor as exc:
        # A validation error like FastAPI's own: a 422 naming the parameter, which the gateway
        # passes on as its own.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "cursor"), "msg": str(exc), "input": cursor}]
        ) from exc


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        tenant_id=task.tenant_id,
        title=task.title,
        description=task.description,
        due_date=task.due_date,
        due_at=task.due_at,
        completed=task.completed,
        deleted=task.deleted,
        version=task.version,
        clock=VectorClock(task.clock),
        created_at=task.created_at,
        updated_at=task.updated_at,
        review=TaskReview.model_validate(task.review) if task.review else None,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a task")
async def create_task(tenant_id: TenantId, body: TaskCreate, tasks: Tasks) -> TaskOut:
    return task_out(await tasks.create(tenant_id, body))


@router.get("", summary="List live tasks, oldest first, a page at a time")
async def list_tasks(
    tenant_id: TenantId,
    tasks: Tasks,
    read_after: ReadAfter,
    limit: Limit = 50,
    cursor: Cursor = None,
    needs_review: NeedsReview = None,
) -> TaskPage:
    after = decoded(decode_cursor, cursor)
    items, next_position = await tasks.page(
        tenant_id, limit=limit, after=after, needs_review=needs_review, read_after=read_after
    )
    return TaskPage(
        items=[task_out(task) for task in items],
        next_cursor=encode_cursor(next_position) if next_position else None,
    )


@router.get("/{task_id}", summary="Get a task", responses=NOT_FOUND)
async def get_task(
    tenant_id: TenantId, task_id: TaskId, tasks: Tasks, read_after: ReadAfter
) -> TaskOut:
    return task_out(await tasks.get(tenant_id, task_id, after=read_after))


@router.patch("/{task_id}", summary="Change some fields of a task", responses=NOT_FOUND)
async def update_task(
    tenant_id: TenantId, task_id: TaskId, patch: TaskPatch, tasks: Tasks
) -> TaskOut:
    return task_out(await tasks.update(tenant_id, task_id, patch))


@router.delete(
    "/{task_id}/review",
    summary="Clear a task's review flag (a person has looked at it)",
    responses=NOT_FOUND,
)
async def clear_review(tenant_id: TenantId, task_id: TaskId, tasks: Tasks) -> TaskOut:
    return task_out(await tasks.clear_review(tenant_id, task_id))


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a task (soft: it keeps its history)",
    responses=NOT_FOUND,
)
async def delete_task(tenant_id: TenantId, task_id: TaskId, tasks: Tasks) -> None:
    await tasks.delete(tenant_id, task_id)
