"""The event bus port: what services need from a log of events, whatever carries it.

Delivery is at-least-once: a subscription acknowledges (commits) an event only after its
handler returned, so a crash while handling means the event is delivered again. Handlers must
therefore be idempotent (record the event id in the same transaction as the effect).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from tether_events.envelope import CloudEvent

Handler = Callable[[CloudEvent[Any]], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None:
        """Connect and start every registered subscription."""

    async def stop(self) -> None:
        """Stop subscriptions (finishing the event in hand) and flush the producer."""

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        """Durably append ``event`` to ``topic``; the key (default: the subject) orders it."""

    def subscribe(self, topics: Sequence[str], group_id: str, handler: Handler) -> None:
        """Register a consumer-group subscription; started by :meth:`start`, or at once if the
        bus is already running."""
