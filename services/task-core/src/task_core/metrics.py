"""Task-core's own Prometheus metrics (HTTP metrics come from tether_common.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

TASK_CHANGES = Counter(
    "tether_task_core_task_changes_total",
    "Task changes committed, by kind",
    ["change"],  # created | updated | deleted
)
OUTBOX_PUBLISHED = Counter(
    "tether_task_core_outbox_published_total", "Outbox events the relay published to the bus"
)
OUTBOX_BACKLOG = Gauge(
    "tether_task_core_outbox_backlog",
    "Outbox events not yet published, as the relay last counted them",
)
RELAY_FAILURES = Counter(
    "tether_task_core_relay_failures_total",
    "Relay passes that failed (bus or database unavailable) and will be retried",
)
PROVIDER_CHANGES = Counter(
    "tether_task_core_provider_changes_total",
    "Provider changes consumed, by outcome",
    # applied | duplicate | not_ready | unlinked | unknown_task | unknown_link | invalid |
    # redelivered
    ["outcome"],
)
CONFLICTS = Counter(
    "tether_task_core_conflicts_total", "Concurrent edits of one field resolved by the policy"
)
LINK_EVENTS = Counter(
    "tether_task_core_link_events_total",
    "Link status events consumed, by outcome",
    # active | retrying | failed | unlinked | archived | ignored | unknown_link | duplicate
    ["outcome"],
)
LINK_RESENDS = Counter(
    "tether_task_core_link_resends_total",
    "Task states published again because a link became active behind the task's clock",
)
