"""Building blocks of pipeline tests: a task's state as core publishes it, an export request,
and a task exported through a :class:`PipelineRig`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tether_connector_runtime.pipeline import exports
from tether_connector_runtime.testing.rig import PipelineRig
from tether_events import ExportRequested, TaskChanged, VectorClock

BOARD = "board-1"
TO_DO_LIST = f"{BOARD}/todo"


def task_state(
    version: int,
    clock: dict[str, int],
    *,
    task_id: str = "task-1",
    tenant_id: str = "acme",
    **fields: Any,
) -> TaskChanged:
    """Core's ``TaskChanged`` for ``task_id`` at ``version`` with ``clock``; ``fields``
    override the defaults (title "Plan the week", nothing else set)."""
    values: dict[str, Any] = {
        "title": "Plan the week",
        "description": "",
        "due_date": None,
        "due_at": None,
        "completed": False,
        "deleted": False,
    }
    values.update(fields)
    return TaskChanged(
        task_id=task_id,
        tenant_id=tenant_id,
        version=version,
        clock=VectorClock(clock),
        origin="core",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        **values,
    )


def export_request(
    connection_id: str,
    task: TaskChanged,
    *,
    link_id: str = "link-1",
    place_id: str = TO_DO_LIST,
    tenant_id: str = "acme",
    provider: str = "trello",
) -> ExportRequested:
    """Core's request to export ``task`` to ``place_id`` through ``connection_id``."""
    return ExportRequested(
        link_id=link_id,
        task_id=task.task_id,
        tenant_id=tenant_id,
        provider=provider,
        connection_id=connection_id,
        target={"place_id": place_id},
        task=task.model_copy(update={"tenant_id": tenant_id}),
    )


async def exported(rig: PipelineRig, task: TaskChanged, **kwargs: Any) -> str:
    """Connect the tenant (``tenant_id``, default acme; ``token``, default tok-a) and export
    ``task`` (``link_id``, ``place_id``); returns the item's id. Fails unless the link is
    active."""
    tenant_id = kwargs.pop("tenant_id", "acme")
    connection_id = await rig.connect(tenant_id, kwargs.pop("token", "tok-a"))
    request = export_request(
        connection_id, task, tenant_id=tenant_id, provider=rig.fake.provider, **kwargs
    )
    await exports.export(rig.pipeline, request)
    link = await rig.link(request.link_id)
    assert link.status == "active", link
    assert link.external_id is not None
    return link.external_id
