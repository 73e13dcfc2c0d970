"""Events for tests: a task's nth state, as task-core would publish it."""

from __future__ import annotations

from datetime import UTC, datetime

from tether_events.clock import VectorClock
from tether_events.envelope import CloudEvent
from tether_events.task import TaskChanged


def task_changed(
    task_id: str,
    n: int,
    *,
    tenant_id: str = "acme",
    title: str | None = None,
    links_version: int | None = None,
) -> CloudEvent[TaskChanged]:
    """``task_id``'s TaskChanged at version ``n`` (title ``title``, default ``v<n>``; clock
    ``{core: n}``; ``links_version`` as given) in its envelope, in ``tenant_id``."""
    data = TaskChanged(
        task_id=task_id,
        tenant_id=tenant_id,
        version=n,
        links_version=links_version,
        title=f"v{n}" if title is None else title,
        description="",
        due_date=None,
        completed=False,
        deleted=False,
        clock=VectorClock({"core": n}),
        origin="core",
        updated_at=datetime.now(UTC),
    )
    return data.envelope(source="/test", subject=task_id, tenant_id=tenant_id)
