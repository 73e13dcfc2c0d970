"""Builds the event bus a service was configured for."""

from __future__ import annotations

from tether_common.settings import BusSettings
from tether_events.bus import EventBus
from tether_events.inprocess import InProcessBus, LogStore
from tether_events.kafka import KafkaBus
from tether_events.topics import Topic, topic_name


def build_bus(settings: BusSettings, *, client_id: str, store: LogStore | None = None) -> EventBus:
    """The Kafka bus, or the in-process one over ``store`` (default: a fresh in-memory log,
    which lives only as long as the process; embedded mode passes a durable
    :class:`tether_events.sqlitelog.SqliteLogStore`)."""
    if settings.bus == "inprocess":
        return InProcessBus(store) if store is not None else InProcessBus()
    return KafkaBus(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        dead_letter_topic=topic_name(Topic.DEAD_LETTER, settings.topic_namespace),
    )
