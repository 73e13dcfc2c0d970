"""A task row as the sync engine's ``CoreTask`` and back, and the API's names of its fields.

Every change to a task, a person's edit, a delete or a merged provider change, is computed by
``tether_sync`` on a ``CoreTask``; this module only moves values between it and the row, so
there is one notion of how a task changes (clock, stamps, fields).

The engine keeps the due as one field, ``due`` (a date or an instant: tether_sync.due); the
row and the API keep it in two columns, ``due_date`` and ``due_at``, at most one of them set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from task_core.models import Task
from tether_events import VectorClock
from tether_sync import (
    CORE_REPLICA,
    FIELD_NAMES,
    CoreTask,
    FieldName,
    FieldStamp,
    TaskFields,
    due_parts,
    field_name,
)

# The API's names of the engine's fields, where they differ.
DUE_NAMES = ("due_date", "due_at")


def stamps_json(stamps: Mapping[FieldName, FieldStamp]) -> dict[str, Any]:
    return {name: stamp.model_dump(mode="json") for name, stamp in stamps.items()}


def to_core(task: Task) -> CoreTask:
    # Every row has a stamp per field (migration 0002 gave old rows core at updated_at); the
    # fallback only keeps a hand-edited row from breaking the merge. Stamps written before
    # the due could be an instant are keyed due_date: read as due.
    fallback = FieldStamp(replica=CORE_REPLICA, edited_at=task.updated_at)
    stored = {field_name(k): v for k, v in (task.stamps or {}).items()}
    stamps = {
        name: FieldStamp.model_validate(stored[name]) if name in stored else fallback
        for name in FIELD_NAMES
    }
    return CoreTask(
        task_id=task.id,
        fields=TaskFields(
            title=task.title,
            description=task.description,
            # A row written before due_at existed has only due_date: that is its due.
            due=task.due_at if task.due_at is not None else task.due_date,
            completed=task.completed,
        ),
        clock=VectorClock(task.clock),
        stamps=stamps,
        deleted=task.deleted,
    )


def write_back(task: Task, core: CoreTask) -> None:
    """Copy the engine's result onto the row (version and timestamps are the caller's)."""
    task.title = core.fields.title
    task.description = core.fields.description
    task.due_date, task.due_at = due_parts(core.fields.due)
    task.completed = core.fields.completed
    task.deleted = core.deleted
    task.clock = core.clock.to_dict()
    task.stamps = stamps_json(core.stamps)


def edit_values(changes: Mapping[str, Any]) -> dict[FieldName, Any]:
    """A patch's fields (the API's names) as the engine's: ``due_date`` or ``due_at`` set the
    due (and so clear the other), either null clears it. The patch model refuses both set."""
    values: dict[FieldName, Any] = {}
    for name, value in changes.items():
        if name in DUE_NAMES:
            if value is not None or "due" not in values:
                values["due"] = value
        else:
            values[field_name(name)] = value
    return values


def api_changed_fields(
    names: Iterable[str], before: TaskFields | None, after: TaskFields
) -> list[str]:
    """The API's names of the changed engine fields, for history rows and events: a changed
    due names the column(s) that changed (``due_date``, ``due_at``, or both when it turned
    from one kind into the other); a created task names every field."""
    out: list[str] = []
    for name in names:
        if name != "due":
            out.append(name)
            continue
        old = before.due if before is not None else None
        kinds = [isinstance(v, datetime) for v in (old, after.due) if v is not None]
        if before is None or not kinds:
            out.extend(DUE_NAMES)
        else:
            out.extend(
                n for n, instant in zip(DUE_NAMES, (False, True), strict=True) if instant in kinds
            )
    return out
