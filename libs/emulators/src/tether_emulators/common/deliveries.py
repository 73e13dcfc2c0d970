"""Webhook deliveries as every emulated provider sends them: POSTs run as background tasks of the
running event loop, retried after the configured delays, that tests can hold back (pause and
resume), lose (drop-next), wait for (flush) and inspect (the delivery log).

Several deliveries run at once, so, as with the real providers, their order is not promised.
What differs by provider stays in its dispatcher, a subclass of ``DeliveryQueue``: the body and
its signature header, whether a webhook is still worth an attempt, and what an answer does to
the webhook (Trello forgets it on a 410, Asana after the last retry has failed).
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

import httpx

DeliveryStatus = Literal["pending", "held", "delivered", "failed", "dropped", "gone", "cancelled"]
# What one attempt came to: the receiver's status code, or the name of the exception raised.
Outcome = int | str

MAX_LOGGED_DELIVERIES = 10_000


@dataclass(frozen=True)
class DeliverySettings:
    """How deliveries travel: ``transport`` carries them (the network when None; tests route
    them in-process), ``retry_delays`` are the seconds waited before each retry (so ``len + 1``
    attempts at most), ``timeout`` the seconds a receiver has to answer."""

    transport: httpx.AsyncBaseTransport | None
    retry_delays: Sequence[float]
    timeout: float


@dataclass(kw_only=True)
class Delivery(abc.ABC):
    """One POST of ``body`` to webhook ``webhook_id`` at ``url``, with every attempt's outcome,
    oldest first.

    ``headers`` are the provider's own (its signature); the queue adds ``Content-Type`` and
    ``User-Agent``. Subclasses add what the provider's control API shows about a delivery.
    """

    id: int
    webhook_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: DeliveryStatus = "pending"
    attempts: list[Outcome] = field(default_factory=list)

    @abc.abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The delivery as ``GET /_emulator/webhooks/deliveries`` lists it."""


def succeeded(outcome: Outcome) -> bool:
    """Whether an attempt got a 2xx answer."""
    return isinstance(outcome, int) and 200 <= outcome < 300


D = TypeVar("D", bound=Delivery)
W = TypeVar("W")  # the provider's webhook


class DeliveryQueue(abc.ABC, Generic[D, W]):
    """Sends deliveries in the background and keeps the last ``MAX_LOGGED_DELIVERIES`` of them.

    ``lookup(id)`` answers a webhook as it is now (None once deleted: retries then stop),
    ``forget(id)`` deletes one as the provider would, ``now()`` is the provider's timestamp
    text for what it records on a webhook. ``paused`` and ``drop_next`` are the control API's
    switches.
    """

    user_agent: ClassVar[str]

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        lookup: Callable[[str], W | None],
        forget: Callable[[str], None],
        now: Callable[[], str],
    ) -> None:
        self.transport = settings.transport
        self.retry_delays = tuple(settings.retry_delays)
        self._timeout = settings.timeout
        self.lookup = lookup
        self.forget = forget
        self.now = now
        self.paused = False
        self.drop_next = 0
        self.deliveries: deque[D] = deque(maxlen=MAX_LOGGED_DELIVERIES)
        self._held: list[D] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._sequence = 0
        self._network: httpx.AsyncClient | None = None

    # --- what the provider decides ---------------------------------------------------------

    @abc.abstractmethod
    def worth_trying(self, delivery: D, attempt: int) -> bool:
        """Whether attempt number ``attempt`` (0 first) goes out; False cancels the delivery."""

    @abc.abstractmethod
    def settle(self, delivery: D, outcome: Outcome) -> DeliveryStatus | None:
        """Record an attempt's outcome on the webhook; the delivery's final status, or None to
        retry (when a retry is left)."""

    @abc.abstractmethod
    def gave_up(self, delivery: D) -> None:
        """The last attempt failed too (the delivery is ``failed``)."""

    def attempt_headers(self, delivery: D, attempt: int) -> dict[str, str]:
        """Headers that differ between attempts (Jira counts its retries in one); none by
        default."""
        return {}

    # --- sending ---------------------------------------------------------------------------

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for deliveries and for the provider's creation checks (HEAD, handshake)."""
        # An injected transport belongs to the caller (tests route receivers in-process through
        # it), so only a client on the network is closed.
        if self.transport is not None:
            yield httpx.AsyncClient(transport=self.transport, timeout=self._timeout)
            return
        # One client for every delivery, as a provider keeps its connections: a client made
        # per delivery builds a TLS context each time, which cost most of the emulator's CPU
        # under load (and slowed its API for the client being measured).
        if self._network is None:
            self._network = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        yield self._network

    def next_id(self) -> int:
        """The id of the next delivery: 1, 2, 3... over the emulator's life."""
        self._sequence += 1
        return self._sequence

    def enqueue(self, delivery: D, *, droppable: bool = True) -> D:
        """Log the delivery, then drop it (``drop_next``, if ``droppable``), hold it (paused) or
        send it."""
        self.deliveries.append(delivery)
        if droppable and self.drop_next > 0:
            self.drop_next -= 1
            delivery.status = "dropped"
        elif self.paused:
            delivery.status = "held"
            self._held.append(delivery)
        else:
            self._start(delivery)
        return delivery

    def repeat(self, delivery_id: int) -> D | None:
        """Send delivery ``delivery_id`` again, byte for byte (same body, same signature) under
        a new id: what a provider does when it never heard the receiver's answer (a timeout)
        and retries a delivery the receiver did take. None if no such delivery is logged."""
        found = next((d for d in self.deliveries if d.id == delivery_id), None)
        if found is None:
            return None
        again = dataclasses.replace(found, id=self.next_id(), status="pending", attempts=[])
        return self.enqueue(again, droppable=False)

    # --- the control API's switches --------------------------------------------------------

    def pause(self) -> None:
        """Hold every new delivery back until ``resume``."""
        self.paused = True

    def resume(self) -> int:
        """Send everything held while paused; returns how many deliveries were released."""
        self.paused = False
        held, self._held = self._held, []
        for delivery in held:
            delivery.status = "pending"
            self._start(delivery)
        return len(held)

    async def flush(self) -> None:
        """Wait until every delivery in flight (retries included) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel deliveries in flight and forget held ones (shutdown or reset)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for delivery in self._held:
            delivery.status = "cancelled"
        self._held.clear()
        if self._network is not None:
            await self._network.aclose()
            self._network = None

    async def reset(self) -> None:
        """Back to the start: nothing in flight or held, not paused, nothing to drop, no log."""
        await self.aclose()
        self.paused, self.drop_next = False, 0
        self.deliveries.clear()

    # --- the attempts ----------------------------------------------------------------------

    def _start(self, delivery: D) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        # The loop keeps only weak references to tasks; this set keeps them alive.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: D) -> None:
        try:
            for attempt in range(len(self.retry_delays) + 1):
                if attempt:
                    await asyncio.sleep(self.retry_delays[attempt - 1])
                if not self.worth_trying(delivery, attempt):
                    delivery.status = "cancelled"
                    return
                outcome = await self._attempt(delivery)
                delivery.attempts.append(outcome)
                final = self.settle(delivery, outcome)
                if final is not None:
                    delivery.status = final
                    return
            delivery.status = "failed"
            self.gave_up(delivery)
        except asyncio.CancelledError:
            delivery.status = "cancelled"
            raise

    async def _attempt(self, delivery: D) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            **delivery.headers,
            **self.attempt_headers(delivery, len(delivery.attempts)),
            "User-Agent": self.user_agent,
        }
        try:
            async with self.client() as client:
                response = await client.post(delivery.url, content=delivery.body, headers=headers)
        except Exception as exc:
            # Network errors and timeouts, and also an in-process receiver that raised: for the
            # providers each is just a failed attempt, to be retried.
            return type(exc).__name__
        return response.status_code
