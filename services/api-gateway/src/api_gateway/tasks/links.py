"""Client-facing exports and links: copy a task to a provider, and see where it lives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import TASK_NOT_FOUND, UNAUTHORIZED, UPSTREAM, error_response
from api_gateway.state import TaskCore
from api_gateway.tasks.endpoints import TaskId
from api_gateway.tasks.sync_schemas import ExportCreate
from tether_contracts.sync import LinkList, LinkOut

router = APIRouter(prefix="/v1/tasks", tags=["links"], responses={**UNAUTHORIZED, **UPSTREAM})

_EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **TASK_NOT_FOUND,
    409: error_response(
        "The task is already exported to this connection, pending or active "
        "(`already_exported`, with the existing `link_id`)"
    ),
}


@router.post(
    "/{task_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Export a task to a provider",
    description="Creates a copy of the task at the provider of `connection_id` (its prefix: "
    "`trello_`, `asana_` or `jira_`), where `target` says (Trello: `list_id`). Answers at "
    "once with the link, `pending`; it turns `active` (with `external_id` and `url`) or "
    "`failed` (with `error`) when the connector has answered: see `GET .../links`. After a "
    "failure, exporting again retries the same link.",
    responses=_EXPORT_ERRORS,
)
async def export_task(
    task_id: TaskId, export: ExportCreate, principal: CurrentPrincipal, core: TaskCore
) -> LinkOut:
    return await core.export_task(principal.tenant_id, task_id, export)


@router.get(
    "/{task_id}/links",
    summary="Where a task is exported, oldest first",
    description="Every link of the task: `pending`, `active`, `failed`, or `unlinked` (the "
    "provider's copy was deleted; the task itself is kept).",
    responses=TASK_NOT_FOUND,
)
async def task_links(task_id: TaskId, principal: CurrentPrincipal, core: TaskCore) -> LinkList:
    return await core.task_links(principal.tenant_id, task_id)
