"""Client-facing history and conflicts: what happened to a task, and which concurrent edits
were settled by the conflict policy (for a person to review)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import TASK_NOT_FOUND, UNAUTHORIZED, UPSTREAM
from api_gateway.state import TaskCore
from api_gateway.tasks.endpoints import ID_PATTERN, Cursor, Limit, TaskId
from tether_contracts.sync import ConflictPage, HistoryPage

history_router = APIRouter(
    prefix="/v1/tasks", tags=["history"], responses={**UNAUTHORIZED, **UPSTREAM}
)
conflicts_router = APIRouter(
    prefix="/v1/conflicts", tags=["conflicts"], responses={**UNAUTHORIZED, **UPSTREAM}
)


@history_router.get(
    "/{task_id}/history",
    summary="A task's history, newest first, a page at a time",
    description="Every accepted change: the version, the replica it came from (`core` for the "
    "API, e.g. `trello:<card id>` for a provider copy), the fields it changed, the vector "
    "clock and the task's values after it. A deleted task's history stays readable.",
    responses=TASK_NOT_FOUND,
)
async def task_history(
    task_id: TaskId,
    principal: CurrentPrincipal,
    core: TaskCore,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> HistoryPage:
    return await core.task_history(principal.tenant_id, task_id, limit=limit, cursor=cursor)


@conflicts_router.get(
    "",
    summary="Recorded conflicts, newest first, a page at a time",
    description="A conflict is two replicas changing one field concurrently to different "
    "values. Tether resolves it at once by the configured policy (default: the later edit "
    "wins) and records both values here, with the winner.",
)
async def list_conflicts(
    principal: CurrentPrincipal,
    core: TaskCore,
    task_id: Annotated[
        str | None,
        Query(min_length=1, max_length=128, pattern=ID_PATTERN, description="Only this task's"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ConflictPage:
    return await core.list_conflicts(
        principal.tenant_id, task_id=task_id, limit=limit, cursor=cursor
    )
