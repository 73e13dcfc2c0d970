"""How long a core change takes to reach a provider: from the task's ``updated_at`` (when
task-core committed it) to the moment the provider answered the write that carries it.

The write itself is made deep in the pipeline (writes.py), which does not know why it runs; the
task being applied is set around it (``applying``, by the task-changed subscription and the
retrier) in a context variable, and the write's completion (``Bursts.wrote``) observes the
time since. A write with no task around it (none today) observes nothing rather than a guess.
A retried write counts its whole wait: that is the latency a person saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from prometheus_client import Histogram

from tether_events import TaskChanged

PROPAGATION = Histogram(
    "tether_connector_propagation_seconds",
    "Seconds from a core change's commit to the provider's answer to the write carrying it",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)

_changed_at: ContextVar[datetime | None] = ContextVar("tether_change_time", default=None)


@contextmanager
def applying(task: TaskChanged) -> Iterator[None]:
    """Writes made inside this block carry ``task``."""
    token = _changed_at.set(task.updated_at)
    try:
        yield
    finally:
        _changed_at.reset(token)


def written(provider: str, at: datetime) -> None:
    """A write to ``provider`` was answered at ``at``."""
    since = _changed_at.get()
    if since is not None:
        PROPAGATION.labels(provider).observe(max(0.0, (at - since).total_seconds()))
