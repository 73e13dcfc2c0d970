"""The event bus port: what services need from a log of events, whatever carries it.

Delivery is at-least-once: a subscription acknowledges (commits) an event only after its
handler returned, so a crash while handling means the event is delivered again. Handlers must
therefore be idempotent (record the event id in the same transaction as the effect).

A subscription may ask for coalescing (``coalesce_by``): of the events waiting in one consumed
batch, those with the same key collapse into one, handed over where the key's last event stood;
events whose key is ``None`` always pass. This suits events that each carry a whole state (a
``TaskChanged`` snapshot): only the newest needs handling. An offset is committed only once
every event up to it was handled or is represented by a handled one, so a crash redelivers
whatever a skipped event stood for (see :mod:`tether_events.coalescing`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tether_events.envelope import CloudEvent

Handler = Callable[[CloudEvent[Any]], Awaitable[None]]
# What makes two events interchangeable for a subscription (``None``: never coalesce this one).
CoalesceKey = Callable[[CloudEvent[Any]], Hashable | None]
# Which of two events with one key carries the newer state; the bus passes the earlier first.
NewerOf = Callable[[CloudEvent[Any], CloudEvent[Any]], CloudEvent[Any]]


class EventBus(Protocol):
    async def start(self) -> None:
        """Connect and start every registered subscription."""

    async def stop(self) -> None:
        """Stop subscriptions (finishing the event in hand) and flush the producer."""

    async def publish(self, topic: str, event: CloudEvent[Any], key: str | None = None) -> None:
        """Durably append ``event`` to ``topic``; the key (default: the subject) orders it."""

    def subscribe(
        self,
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        *,
        coalesce_by: CoalesceKey | None = None,
        newer_of: NewerOf | None = None,
    ) -> None:
        """Register a consumer-group subscription; started by :meth:`start`, or at once if the
        bus is already running. ``coalesce_by``: hand the handler one event per key of each
        batch (the newest by ``newer_of``, by default the later in the log); it must not
        raise."""


@dataclass(frozen=True)
class Subscription:
    """One ``subscribe`` call, as the adapters keep it."""

    topics: tuple[str, ...]
    group_id: str
    handler: Handler
    coalesce_by: CoalesceKey | None = None
    newer_of: NewerOf | None = None
