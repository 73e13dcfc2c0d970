"""task-core's subscription: provider changes and link status, one consumer group.

Both topics are keyed by task id, so per task the events arrive in order. Whatever fails in a
handler (the database is down, a change is not ready yet) raises: the bus delivers the same
event again with backoff and acknowledges nothing behind it meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from task_core.links import LinkService
from task_core.merging import ProviderChangeService
from tether_events import (
    CloudEvent,
    EventBus,
    LinkChanged,
    ProviderItemChanged,
    Topic,
    topic_name,
)

GROUP = "task-core"


def consumed_topics(namespace: str) -> list[str]:
    return [topic_name(Topic.PROVIDER_CHANGED, namespace), topic_name(Topic.LINK_EVENTS, namespace)]


class Subscription:
    """The handler task-core registers on the bus, closed when the app stops.

    The bus port has no unsubscribe, and a shared bus (embedded mode, tests) outlives the
    app. A closed handler therefore never returns: it must not acknowledge an event it did
    not apply, and raising would only retry it against a disposed engine. The bus cancels
    it when it stops; a restarted app's own subscription takes the group's events meanwhile.
    """

    def __init__(self, provider_changes: ProviderChangeService, links: LinkService) -> None:
        self._provider_changes = provider_changes
        self._links = links
        self._closed = False

    def subscribe(self, bus: EventBus, namespace: str) -> None:
        bus.subscribe(consumed_topics(namespace), GROUP, self.handle)

    def close(self) -> None:
        self._closed = True

    async def handle(self, event: CloudEvent[Any]) -> None:
        if self._closed:
            await asyncio.Event().wait()
        data = event.data
        if isinstance(data, ProviderItemChanged):
            await self._provider_changes.on_provider_changed(event)
        elif isinstance(data, LinkChanged):
            await self._links.on_link_changed(event)
        # Anything else is not ours: ExportRequested is our own request to the connectors.
