"""What every part of the pipeline simulation agrees on: the tenant, tasks and providers, the
start of time, the bus's topics and consumers, where a process may die, and the drain's bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tether_connector_runtime.pipeline import RetrySchedule
from tether_events import Topic, topic_name
from tether_sync import Provider

TENANT = "acme"
TASKS = ("task-1", "task-2")
PROVIDERS: tuple[Provider, ...] = ("trello", "asana", "jira")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = date(2025, 1, 1)
TASK_TOPIC = topic_name(Topic.TASK_CHANGED)
LINK_TOPIC = topic_name(Topic.LINK_EVENTS)
CHANGE_TOPIC = topic_name(Topic.PROVIDER_CHANGED)
# Consumer groups and what each reads: each connector reads task changes and link events
# (export requests), core reads provider changes and link events (activations).
CONSUMERS: tuple[tuple[str, str], ...] = (
    ("trello", TASK_TOPIC),
    ("trello", LINK_TOPIC),
    ("asana", TASK_TOPIC),
    ("asana", LINK_TOPIC),
    ("jira", TASK_TOPIC),
    ("jira", LINK_TOPIC),
    ("core", CHANGE_TOPIC),
    ("core", LINK_TOPIC),
)
CRASH_POINTS = ("create", "update", "save_state", "save_link", "outbox")
FAULT_KINDS = ("read", "update", "create")
DRAIN_ROUNDS = 12
DRAIN_DELIVERIES = 200
# Retries fall due on the manual clock; the limit is far away so a drained link never gives up.
RETRY = RetrySchedule(base=60.0, cap=600.0, limit=30 * 86_400.0)
