"""A task row as the sync engine's ``CoreTask`` and back.

Every change to a task, a person's edit, a delete or a merged provider change, is computed by
``tether_sync`` on a ``CoreTask``; this module only moves values between it and the row, so
there is one notion of how a task changes (clock, stamps, fields).
"""

from __future__ import annotations

from collections.abc import Mapping
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
)


def stamps_json(stamps: Mapping[FieldName, FieldStamp]) -> dict[str, Any]:
    return {name: stamp.model_dump(mode="json") for name, stamp in stamps.items()}


def to_core(task: Task) -> CoreTask:
    # Every row has a stamp per field (migration 0002 gave old rows core at updated_at); the
    # fallback only keeps a hand-edited row from breaking the merge.
    fallback = FieldStamp(replica=CORE_REPLICA, edited_at=task.updated_at)
    stored = task.stamps or {}
    stamps = {
        name: FieldStamp.model_validate(stored[name]) if name in stored else fallback
        for name in FIELD_NAMES
    }
    return CoreTask(
        task_id=task.id,
        fields=TaskFields(
            title=task.title,
            description=task.description,
            due_date=task.due_date,
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
    task.due_date = core.fields.due_date
    task.completed = core.fields.completed
    task.deleted = core.deleted
    task.clock = core.clock.to_dict()
    task.stamps = stamps_json(core.stamps)
