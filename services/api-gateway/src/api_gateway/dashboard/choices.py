"""Choosing the other value of a conflict: a new core edit of the task, as ``PATCH
/v1/tasks/{id}`` makes one, setting the field to the value the policy did not keep."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from api_gateway.dashboard.panels import ConflictView
from api_gateway.tasks.client import TaskCoreClient
from tether_common.errors import Conflict, NotFound
from tether_contracts.sync import FieldValue
from tether_contracts.tasks import TaskOut, TaskPatch


class ConflictNotFound(NotFound):
    code = "conflict_not_found"


class CannotChoose(Conflict):
    code = "cannot_choose"


def patch_of(field: str, value: FieldValue) -> TaskPatch:
    """The patch setting ``field`` (a conflict's field: title, description, due, completed)
    to ``value``; ``CannotChoose`` (409) when no patch can carry it."""
    body: dict[str, Any]
    if field == "due":
        body = _due(value)
    elif field in ("title", "description", "completed"):
        body = {field: value}
    else:
        raise CannotChoose(f"a conflict on {field!r} cannot be settled here")
    try:
        return TaskPatch.model_validate(body)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise CannotChoose(f"the other value of {field} cannot be set: {reason}") from exc


def _due(value: FieldValue) -> dict[str, Any]:
    # A due is a day or an instant; as JSON carries it, an instant has a time part.
    if value is None:
        return {"due_date": None}
    if isinstance(value, datetime) or (isinstance(value, str) and "T" in value):
        return {"due_at": value}
    if isinstance(value, (date, str)):
        return {"due_date": value}
    raise CannotChoose(f"not a due: {value!r}")


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


def holds_other(task: TaskOut, view: ConflictView) -> bool:
    """Whether ``task`` already holds the conflict's other value (chosen, or set since)."""
    try:
        patch = patch_of(view.conflict.field, view.other_value)
    except CannotChoose:
        return False
    if view.conflict.field == "due" and view.other_value is None:
        return task.due_date is None and task.due_at is None
    return all(getattr(task, name) == value for name, value in patch.changes().items())
