"""The simulation's bus: a durable log every consumer reads by offset."""

from __future__ import annotations

from typing import Any

from tether_connector_runtime.testing import RecordingBus
from tether_connector_runtime.testing.simulation.constants import CONSUMERS
from tether_connector_runtime.testing.simulation.steps import Crash
from tether_events import CloudEvent


class Log(RecordingBus):
    """Every topic's events in order (what each consumer reads by offset); ``crash_next``: the
    next publish takes the event and then the relay's process dies."""

    def __init__(self) -> None:
        super().__init__()
        self.topics: dict[str, list[CloudEvent[Any]]] = {t: [] for _, t in CONSUMERS}
        self.crash_next = False
        self.crashes = 0

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        await super().publish(topic, event, key)
        self.topics.setdefault(topic, []).append(event)
        if self.crash_next:
            self.crash_next = False
            self.crashes += 1
            raise Crash("after the bus took the event, before its outbox row was deleted")
