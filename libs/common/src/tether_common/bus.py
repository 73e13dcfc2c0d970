"""Builds the event bus a service was configured for."""

from __future__ import annotations

from tether_common.settings import BusSettings
from tether_events.bus import EventBus
from tether_events.inprocess import InProcessBus, InProcessLogStore
from tether_events.kafka import KafkaBus
from tether_events.topics import Topic, topic_name


def build_bus(
    settings: BusSettings, *, client_id: str, store: InProcessLogStore | None = None
) -> EventBus:
    if settings.bus == "inprocess":
        return InProcessBus(store)
    return KafkaBus(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        dead_letter_topic=topic_name(Topic.DEAD_LETTER, settings.topic_namespace),
    )
