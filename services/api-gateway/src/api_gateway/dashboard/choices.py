"""Choosing the other value of a conflict: a new core edit of the task, as ``PATCH
/v1/tasks/{id}`` makes one, setting the field to the value the policy did not keep."""

from __future__ import annotations

from api_gateway.dashboard.panels import ConflictView
from api_gateway.dashboard.values import patch_of
from api_gateway.tasks.client import TaskCoreClient
from tether_common.errors import NotFound
from tether_contracts.tasks import TaskOut


class ConflictNotFound(NotFound):
    code = "conflict_not_found"


async def choose_other(
    core: TaskCoreClient, tenant_id: str, task_id: str, conflict_id: str
) -> tuple[ConflictView, TaskOut]:
    """Set the conflict's field of the task to the value that lost. The conflict is looked up
    among the task's, in the caller's tenant: ``ConflictNotFound`` (404) otherwise."""
    page = await core.list_conflicts(tenant_id, task_id=task_id, limit=200, cursor=None)
    found = next((c for c in page.items if c.id == conflict_id), None)
    if found is None:
        raise ConflictNotFound(f"no conflict {conflict_id[:64]!r} of task {task_id[:64]!r}")
    view = ConflictView(found, None)
    task = await core.update_task(tenant_id, task_id, patch_of(found.field, view.other_value))
    return view, task
