"""Exports and the links registry (internal API, the gateway calls it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from task_core.consistency import ReadAfter
from task_core.endpoints import NOT_FOUND, TaskId, TenantId
from task_core.models import Link
from task_core.state import Links
from tether_contracts.sync import LinkCreate, LinkList, LinkOut

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/tasks/{task_id}/links", tags=["links"])

_EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {
        "description": "The task already has a pending, active or retrying link to this "
        "connection (`already_exported`, with its `link_id`)"
    },
}


def link_out(link: Link) -> LinkOut:
    return LinkOut.model_validate(link, from_attributes=True)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Export a task to a provider connection",
    description="Registers a pending link and asks the provider's connector (ExportRequested "
    "on the link-events topic) to create the item; the link turns active or failed when it "
    "answers, and shows retrying (last error, next attempt) while the connector keeps trying. "
    "Exporting again after a failure retries the same link.",
    responses=_EXPORT_ERRORS,
)
async def export_task(
    tenant_id: TenantId, task_id: TaskId, body: LinkCreate, links: Links
) -> LinkOut:
    return link_out(await links.export(tenant_id, task_id, body))


@router.get("", summary="A task's links, oldest first", responses=NOT_FOUND)
async def task_links(
    tenant_id: TenantId, task_id: TaskId, links: Links, read_after: ReadAfter
) -> LinkList:
    found = await links.of_task(tenant_id, task_id, after=read_after)
    return LinkList([link_out(link) for link in found])
