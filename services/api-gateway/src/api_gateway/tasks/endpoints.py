"""Client-facing task endpoints. Each one authenticates, then asks task-core on behalf of the
caller's tenant: another tenant's task is simply not found."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import TASK_NOT_FOUND, UNAUTHORIZED, UPSTREAM
from api_gateway.state import TaskCore
from tether_contracts.tasks import TaskCreate, TaskOut, TaskPage, TaskPatch

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], responses={**UNAUTHORIZED, **UPSTREAM})

# Ids become a path segment or parameter of task-core URLs: no dots-first, slashes or escapes.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
TaskId = Annotated[
    str,
    Path(
        description="The task's id, as returned when it was created",
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
    ),
]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=1024, description="`next_cursor` of the previous page")
]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a task")
async def create_task(task: TaskCreate, principal: CurrentPrincipal, core: TaskCore) -> TaskOut:
    return await core.create_task(principal.tenant_id, task)


@router.get("", summary="List tasks, a page at a time")
async def list_tasks(
    principal: CurrentPrincipal,
    core: TaskCore,
    limit: Limit = 50,
    cursor: Cursor = None,
    needs_review: Annotated[
        bool | None,
        Query(description="Only tasks flagged for review (true), or only unflagged ones (false)"),
    ] = None,
) -> TaskPage:
    return await core.list_tasks(
        principal.tenant_id, limit=limit, cursor=cursor, needs_review=needs_review
    )


@router.get("/{task_id}", summary="Get a task", responses=TASK_NOT_FOUND)
async def get_task(task_id: TaskId, principal: CurrentPrincipal, core: TaskCore) -> TaskOut:
    return await core.get_task(principal.tenant_id, task_id)


@router.patch(
    "/{task_id}",
    summary="Change some fields of a task",
    description="Only the fields present change; send `due_date: null` to clear the due date.",
    responses=TASK_NOT_FOUND,
)
async def update_task(
    task_id: TaskId, patch: TaskPatch, principal: CurrentPrincipal, core: TaskCore
) -> TaskOut:
    return await core.update_task(principal.tenant_id, task_id, patch)


@router.delete(
    "/{task_id}/review",
    summary="Clear a task's review flag",
    description="A task is flagged (its `review` says why) when a provider copy of it was "
    "deleted; clearing says a person has looked. The flag is not synced: no copy changes.",
    responses=TASK_NOT_FOUND,
)
async def clear_review(task_id: TaskId, principal: CurrentPrincipal, core: TaskCore) -> TaskOut:
    return await core.clear_review(principal.tenant_id, task_id)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a task",
    responses=TASK_NOT_FOUND,
)
async def delete_task(task_id: TaskId, principal: CurrentPrincipal, core: TaskCore) -> None:
    await core.delete_task(principal.tenant_id, task_id)
