"""A conflict's field set to a value as a task patch (what ``PATCH /v1/tasks/{id}`` takes),
and whether a task holds that value already."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from tether_common.errors import Conflict
from tether_contracts.sync import FieldValue
from tether_contracts.tasks import TaskOut, TaskPatch


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


def holds(task: TaskOut, field: str, value: FieldValue) -> bool:
    """Whether ``task``'s ``field`` (a conflict's field) is ``value`` now."""
    try:
        patch = patch_of(field, value)
    except CannotChoose:
        return False
    if field == "due" and value is None:
        return task.due_date is None and task.due_at is None
    return all(getattr(task, name) == v for name, v in patch.changes().items())
