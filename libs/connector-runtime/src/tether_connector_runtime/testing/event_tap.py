"""A connector's app over a provider emulator, in memory, as its flow tests drive it: what the
connector publishes (:class:`EventTap`), a wait for a condition (:func:`until`), and the app
served with clients of it and of the emulator (:func:`serving`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from tether_events import CloudEvent, Topic, topic_name
from tether_events.bus import EventBus
from tether_events.inprocess import InProcessBus

T = TypeVar("T")

# What a connector publishes: its links' news and the changes it saw in the provider.
PUBLISHED = (Topic.LINK_EVENTS, Topic.PROVIDER_CHANGED)


class EventTap:
    """Every event published on ``topics`` of ``bus``, in order, kept for the test to read:
    subscribed (as its own consumer group ``group``) when made, so make it before the bus
    starts."""

    def __init__(
        self, bus: EventBus, topics: Sequence[Topic] = PUBLISHED, group: str = "test-tap"
    ) -> None:
        self.events: list[CloudEvent[Any]] = []
        bus.subscribe([topic_name(t) for t in topics], group, self._record)

    async def _record(self, event: CloudEvent[Any]) -> None:
        self.events.append(event)

    def of(self, kind: type[T]) -> list[T]:
        """The data of the events seen so far whose data is a ``kind``, oldest first."""
        return [e.data for e in self.events if isinstance(e.data, kind)]


async def until(condition: Callable[[], bool], *, within: float = 120.0) -> None:
    """Wait for a condition (never for a time): the pipeline runs in background tasks. The
    deadline only guards against a hang (generous by default: a busy machine)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@asynccontextmanager
async def serving(
    connector: FastAPI, bus: InProcessBus[Any], emulator: FastAPI, emulator_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """``connector`` running (its lifespan entered, ``bus`` started): a client of its own HTTP
    API (``http://tether.test``) and one of ``emulator`` at ``emulator_url``. On leaving, the
    emulator's webhook deliveries in flight end first, as a server finishes its requests before
    shutting down, so none meets a database the connector's lifespan has closed."""
    async with connector.router.lifespan_context(connector):
        await bus.start()
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=connector), base_url="http://tether.test"
            ) as api,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=emulator), base_url=emulator_url
            ) as provider,
        ):
            yield api, provider
            await provider.post("/_emulator/webhooks/flush")
        await bus.stop()
