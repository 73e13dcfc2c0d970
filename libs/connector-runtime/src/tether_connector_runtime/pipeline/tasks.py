"""Task states as the pipeline holds them: a ``TaskChanged`` payload, as a sync snapshot, kept
as JSON while parked, and which of two is newer."""

from __future__ import annotations

from typing import Any

from tether_events import Ordering, TaskChanged
from tether_sync import TaskFields, TaskSnapshot


def snapshot_of(task: TaskChanged) -> TaskSnapshot:
    return TaskSnapshot(
        task_id=task.task_id,
        fields=TaskFields(
            title=task.title,
            description=task.description,
            due=task.due_at if task.due_at is not None else task.due_date,
            completed=task.completed,
        ),
        clock=task.clock,
        deleted=task.deleted,
    )


def to_json(task: TaskChanged) -> dict[str, Any]:
    return task.model_dump(mode="json")


def from_json(raw: dict[str, Any]) -> TaskChanged:
    return TaskChanged.model_validate(raw)


def newer(kept: TaskChanged, arrived: TaskChanged) -> TaskChanged:
    """The state to keep of two waiting for one link. Each is a whole state, so the newer one
    stands for both; core orders a task's states, so concurrent ones only come from a
    duplicate or a replay, where the greater clock sum is the later."""
    order = arrived.clock.compare(kept.clock)
    if order is Ordering.AFTER:
        return arrived
    if order is Ordering.CONCURRENT and sum(arrived.clock.values()) > sum(kept.clock.values()):
        return arrived
    return kept
