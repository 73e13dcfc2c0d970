"""Client-facing exports and links: copy a task to a provider, and see where it lives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import (
    TASK_NOT_FOUND,
    UNAUTHORIZED,
    UPSTREAM,
    error_response,
    invalid_input_response,
)
from api_gateway.state import Connectors, TaskCore
from api_gateway.tasks.endpoints import TaskId
from api_gateway.tasks.sync_schemas import ExportCreate
from tether_common.errors import Conflict
from tether_contracts.sync import LinkList, LinkOut

router = APIRouter(prefix="/v1/tasks", tags=["links"], responses={**UNAUTHORIZED, **UPSTREAM})

_EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: error_response(
        "No such task (`task_not_found`) or connection (`connection_not_found`) for your tenant"
    ),
    409: error_response(
        "The task is already exported to this connection, pending or active "
        "(`already_exported`, with the existing `link_id`), or the connection is broken "
        "(`connection_broken`: reconnect the account first)"
    ),
    422: invalid_input_response(
        "Invalid input, or a connection of a provider this deployment runs "
        "no connector for (`connection_id` is named)"
    ),
    502: error_response(
        "task-core or the connection's connector answered something the gateway does not "
        "understand (`upstream_error`)"
    ),
    503: error_response(
        "task-core or the connection's connector is unreachable or failing (`upstream_unavailable`)"
    ),
}


class ConnectionBroken(Conflict):
    code = "connection_broken"


@router.post(
    "/{task_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Export a task to a provider",
    description="Creates a copy of the task at the provider of `connection_id` (its prefix: "
    "`trello_`, `asana_` or `jira_`), where `target` says (Trello: `list_id`). The connection "
    "is checked with its connector first: one that is not the caller's, or broken, is "
    "refused and nothing is registered. Answers at once with the link, `pending`; it turns "
    "`active` (with `external_id` and `url`) or `failed` (with `error`) when the connector "
    "has answered: see `GET .../links`. After a failure, exporting again retries the same "
    "link.",
    responses=_EXPORT_ERRORS,
)
async def export_task(
    task_id: TaskId,
    export: ExportCreate,
    principal: CurrentPrincipal,
    core: TaskCore,
    connectors: Connectors,
) -> LinkOut:
    # Asked before task-core, so a refused export leaves no pending link behind that no
    # connector would ever act on.
    connection = await connectors.connection(
        principal.tenant_id, export.connection_id, loc=("body", "connection_id")
    )
    if connection.status == "broken":
        reason = f" ({connection.error})" if connection.error else ""
        raise ConnectionBroken(
            f"connection {connection.id} is broken{reason}: reconnect the "
            f"{connection.provider} account, then export again"
        )
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
