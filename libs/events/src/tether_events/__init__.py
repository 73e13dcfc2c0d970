"""Tether's event contracts (CloudEvents 1.0), topics, vector clock and the event bus port."""

from tether_events.bus import EventBus, Handler
from tether_events.clock import Ordering, VectorClock
from tether_events.codec import UndecodableEvent, decode, encode
from tether_events.envelope import CloudEvent, EventData
from tether_events.task import (
    EVENT_TYPES,
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    SyncedField,
    TaskChanged,
)
from tether_events.topics import Topic, topic_name

__all__ = [
    "EVENT_TYPES",
    "CloudEvent",
    "EventBus",
    "EventData",
    "ExportRequested",
    "Handler",
    "LinkChanged",
    "Ordering",
    "ProviderItemChanged",
    "SyncedField",
    "TaskChanged",
    "Topic",
    "UndecodableEvent",
    "VectorClock",
    "decode",
    "encode",
    "topic_name",
]
