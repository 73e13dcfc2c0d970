"""Events for the bus's own tests: a task's nth state, as task-core would publish it."""

from __future__ import annotations

from datetime import UTC, datetime

from tether_events.clock import VectorClock
from tether_events.envelope import CloudEvent
from tether_events.task import TaskChanged


def task_changed(task_id: str, n: int) -> CloudEvent[TaskChanged]:
    """``task_id``'s TaskChanged at version ``n`` (title ``v<n>``, clock ``{core: n}``) in
    its envelope, tenant ``acme``."""
    data = TaskChanged(
        task_id=task_id,
        tenant_id="acme",
        version=n,
        title=f"v{n}",
        description="",
        due_date=None,
        completed=False,
        deleted=False,
        clock=VectorClock({"core": n}),
        origin="core",
        updated_at=datetime.now(UTC),
    )
    return data.envelope(source="/test", subject=task_id, tenant_id="acme")
