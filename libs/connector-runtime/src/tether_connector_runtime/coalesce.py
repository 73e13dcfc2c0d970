"""Per-link coalescing: task changes waiting for one task's links collapse into one write.

A ``TaskChanged`` carries the task's whole state, so of several waiting in one consumed batch
only the newest needs a provider write; the bus does the collapsing and keeps at-least-once
(see :mod:`tether_events.coalescing`). A connector subscribes to task changes with::

    bus.subscribe(topics, group, handler, coalesce_by=task_of, newer_of=newer_task_state)

Keyed by task, not link: one handled snapshot writes every link of its task.
"""

from __future__ import annotations

from typing import Any

from tether_events import CloudEvent, TaskChanged


def task_of(event: CloudEvent[Any]) -> tuple[str, str] | None:
    """Task snapshots coalesce per task (tenant included, so ids need only be unique within a
    tenant); any other event is handled on its own."""
    if isinstance(event.data, TaskChanged):
        return (event.tenantid, event.data.task_id)
    return None


def newer_task_state(older: CloudEvent[Any], newer: CloudEvent[Any]) -> CloudEvent[Any]:
    """The snapshot with the higher task version, then the higher ``links_version`` (a state
    task-core resent on a link's activation is the same version with a higher count). Usually
    the later one in the log, but a replayed dead letter can put an old snapshot behind a newer
    one, and it must not win: its older count could find a cached answer that no longer holds
    (links_cache.py) where the snapshot it displaced would have asked again."""
    if (
        isinstance(older.data, TaskChanged)
        and isinstance(newer.data, TaskChanged)
        and _rank(older.data) > _rank(newer.data)
    ):
        return older
    return newer


def _rank(state: TaskChanged) -> tuple[int, int]:
    return state.version, -1 if state.links_version is None else state.links_version
