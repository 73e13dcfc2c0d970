"""The events task-core publishes, built from a task's committed state."""

from __future__ import annotations

from collections.abc import Sequence

from task_core.models import Link, Task
from tether_events import CloudEvent, ExportRequested, TaskChanged, VectorClock

SOURCE = "/tether/task-core"


def task_state(task: Task, *, origin: str, changed_fields: Sequence[str]) -> TaskChanged:
    """The whole task after a change (not a diff): a consumer that missed events catches up
    from the latest one."""
    return TaskChanged(
        task_id=task.id,
        tenant_id=task.tenant_id,
        version=task.version,
        links_version=task.links_version or 0,
        title=task.title,
        description=task.description,
        due_date=task.due_date,
        due_at=task.due_at,
        completed=task.completed,
        deleted=task.deleted,
        clock=VectorClock(task.clock),
        origin=origin,
        changed_fields=list(changed_fields),
        updated_at=task.updated_at,
    )


def task_envelope(state: TaskChanged) -> CloudEvent[TaskChanged]:
    return state.envelope(source=SOURCE, subject=state.task_id, tenant_id=state.tenant_id)


def task_changed(
    task: Task, *, origin: str, changed_fields: Sequence[str]
) -> CloudEvent[TaskChanged]:
    return task_envelope(task_state(task, origin=origin, changed_fields=changed_fields))


def export_requested(link: Link, task: TaskChanged) -> CloudEvent[ExportRequested]:
    data = ExportRequested(
        link_id=link.id,
        task_id=link.task_id,
        tenant_id=link.tenant_id,
        provider=link.provider,
        connection_id=link.connection_id,
        target=link.target,
        task=task,
    )
    return data.envelope(source=SOURCE, subject=link.task_id, tenant_id=link.tenant_id)
