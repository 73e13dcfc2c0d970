"""The events task-core publishes, built from a task's committed state."""

from __future__ import annotations

from collections.abc import Sequence

from task_core.models import Task
from tether_events import CloudEvent, TaskChanged, VectorClock

SOURCE = "/tether/task-core"


def task_changed(
    task: Task, *, origin: str, changed_fields: Sequence[str]
) -> CloudEvent[TaskChanged]:
    """The whole task after a change (not a diff): a consumer that missed events catches up
    from the latest one."""
    data = TaskChanged(
        task_id=task.id,
        tenant_id=task.tenant_id,
        version=task.version,
        title=task.title,
        description=task.description,
        due_date=task.due_date,
        completed=task.completed,
        deleted=task.deleted,
        clock=VectorClock(task.clock),
        origin=origin,
        changed_fields=list(changed_fields),
        updated_at=task.updated_at,
    )
    return data.envelope(source=SOURCE, subject=task.id, tenant_id=task.tenant_id)
