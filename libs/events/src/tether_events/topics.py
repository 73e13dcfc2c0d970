"""Kafka topic names. Every topic is keyed by task id so one task's events stay in order."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    TASK_CHANGED = "tether.task-changed.v1"
    PROVIDER_CHANGED = "tether.provider-changed.v1"
    # Export requests (task-core -> connectors) and link status (connectors -> task-core).
    LINK_EVENTS = "tether.link-events.v1"
    DEAD_LETTER = "tether.dead-letter.v1"


def topic_name(topic: Topic | str, namespace: str = "") -> str:
    """The physical topic name.

    A namespace lets several Tether deployments (or parallel test runs) share one Kafka
    cluster without reading each other's events.
    """
    base = str(topic)
    return f"{namespace}.{base}" if namespace else base
