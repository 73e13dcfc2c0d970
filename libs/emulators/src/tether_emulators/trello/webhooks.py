"""Webhook verification and delivery, as Trello does them.

- Creating a webhook first sends ``HEAD callbackURL`` and refuses anything but a 200.
- Each delivery is ``POST callbackURL`` with ``{"action", "model"}`` and ``X-Trello-Webhook``:
  base64(HMAC-SHA1(app secret, body + callbackURL as registered)).
- Deliveries run in the background, after the API call that caused them has answered;
  failures (non-2xx, errors, timeouts) are retried a few times; ``410 Gone`` deletes the webhook.
  Several deliveries run concurrently, so, as with Trello, ordering is not promised.

Tests can hold deliveries back (pause/resume) or lose some (drop-next) to rehearse the missed
webhooks that the polling fallback must recover from.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from tether_emulators.trello.errors import TrelloError, invalid_value
from tether_emulators.trello.store import Webhook

DeliveryStatus = Literal["pending", "held", "delivered", "failed", "dropped", "gone", "cancelled"]

MAX_LOGGED_DELIVERIES = 10_000


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    """``X-Trello-Webhook``: base64 of HMAC-SHA1 keyed with the app secret over body + URL."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_callback_url(url: object) -> str:
    if not isinstance(url, str):
        raise invalid_value("callbackURL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_value("callbackURL")
    return url


@dataclass
class Delivery:
    """One action sent to one webhook, with every attempt's outcome (status code or error)."""

    id: int
    webhook_id: str
    callback_url: str
    action_id: str
    action_type: str
    body: bytes
    signature: str
    status: DeliveryStatus = "pending"
    attempts: list[int | str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "idWebhook": self.webhook_id,
            "callbackURL": self.callback_url,
            "idAction": self.action_id,
            "actionType": self.action_type,
            "status": self.status,
            "attempts": self.attempts,
        }


class WebhookDispatcher:
    """Sends deliveries as background tasks of the running event loop.

    ``lookup`` answers the webhook as it is now (None once deleted), so retries stop when a
    webhook disappears; ``on_gone`` deletes a webhook whose receiver answered 410.
    """

    def __init__(
        self,
        *,
        secret: str,
        transport: httpx.AsyncBaseTransport | None,
        retry_delays: Sequence[float],
        timeout: float,
        lookup: Callable[[str], Webhook | None],
        on_gone: Callable[[str], None],
        now: Callable[[], str],
    ) -> None:
        self.secret = secret
        self.transport = transport
        self.retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._lookup = lookup
        self._on_gone = on_gone
        self._now = now
        self.paused = False
        self.drop_next = 0
        self.deliveries: deque[Delivery] = deque(maxlen=MAX_LOGGED_DELIVERIES)
        self._held: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._sequence = 0

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        # Trello allows 30 s per delivery. An injected transport belongs to the caller (tests
        # route callbacks in-process through it), so only a client on the network is closed.
        if self.transport is not None:
            yield httpx.AsyncClient(transport=self.transport, timeout=self._timeout)
            return
        async with httpx.AsyncClient(timeout=self._timeout, trust_env=False) as client:
            yield client

    async def verify_callback(self, url: str) -> None:
        """Trello's creation check: ``HEAD callbackURL`` must answer 200."""
        try:
            async with self._client() as client:
                response = await client.head(url)
        except Exception as exc:  # a receiver that cannot answer, whatever the reason
            raise TrelloError(
                400, f"URL ({url}) did not return 200 status code, got {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise TrelloError(
                400, f"URL ({url}) did not return 200 status code, got {response.status_code}"
            )

    def dispatch(self, webhook: Webhook, action: dict[str, Any], model: dict[str, Any]) -> None:
        body = json.dumps({"action": action, "model": model}, separators=(",", ":")).encode()
        self._sequence += 1
        delivery = Delivery(
            id=self._sequence,
            webhook_id=webhook.id,
            callback_url=webhook.callback_url,
            action_id=str(action["id"]),
            action_type=str(action["type"]),
            body=body,
            signature=trello_signature(self.secret, body, webhook.callback_url),
        )
        self.deliveries.append(delivery)
        if self.drop_next > 0:
            self.drop_next -= 1
            delivery.status = "dropped"
        elif self.paused:
            delivery.status = "held"
            self._held.append(delivery)
        else:
            self._start(delivery)

    def pause(self) -> None:
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

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        # The loop keeps only weak references to tasks; this set keeps them alive.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            for attempt in range(len(self.retry_delays) + 1):
                if attempt:
                    await asyncio.sleep(self.retry_delays[attempt - 1])
                    # A webhook deleted meanwhile gets no more retries. The first attempt goes
                    # out regardless: the action happened while the webhook existed (this is
                    # how the deleteCard of a watched card still reaches its webhook).
                    if self._lookup(delivery.webhook_id) is None:
                        delivery.status = "cancelled"
                        return
                outcome = await self._attempt(delivery)
                delivery.attempts.append(outcome)
                if outcome == 410:
                    delivery.status = "gone"
                    self._on_gone(delivery.webhook_id)
                    return
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    delivery.status = "delivered"
                    webhook = self._lookup(delivery.webhook_id)
                    if webhook is not None:
                        webhook.consecutive_failures = 0
                        webhook.first_consecutive_fail_date = None
                    return
            delivery.status = "failed"
            webhook = self._lookup(delivery.webhook_id)
            if webhook is not None:
                webhook.consecutive_failures += 1
                webhook.first_consecutive_fail_date = (
                    webhook.first_consecutive_fail_date or self._now()
                )
        except asyncio.CancelledError:
            delivery.status = "cancelled"
            raise

    async def _attempt(self, delivery: Delivery) -> int | str:
        headers = {
            "Content-Type": "application/json",
            "X-Trello-Webhook": delivery.signature,
            "User-Agent": "Trello-Emulator (tether_emulators)",
        }
        try:
            async with self._client() as client:
                response = await client.post(
                    delivery.callback_url, content=delivery.body, headers=headers
                )
        except Exception as exc:
            # Network errors and timeouts, and also an in-process receiver that raised: for
            # Trello each is just a failed attempt, to be retried.
            return type(exc).__name__
        return response.status_code
