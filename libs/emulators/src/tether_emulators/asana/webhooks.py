"""Webhooks as Asana runs them (https://developers.asana.com/docs/webhooks-guide and
https://developers.asana.com/reference/createwebhook):

- ``POST /webhooks`` POSTs to the target *during* the create call with ``X-Hook-Secret``; the
  target must answer ``200`` or ``204`` echoing that header, or the creation fails. Targets on
  ``localhost`` are refused with a 403.
- Right after the handshake, and then every 8 hours, a heartbeat ``{"events": []}`` arrives.
- Deliveries are ``{"events": [...]}`` of compact events, signed ``X-Hook-Signature`` = hex
  HMAC-SHA256 of the raw body keyed with the secret. A delivery that gets no 2xx within 10 s is
  retried with back-off; after the last retry fails the webhook is deleted (Asana gives up
  after 24 hours). The system is "designed for at-most-once delivery": tests lose deliveries
  on purpose with ``drop_next``. Ordering is not promised: deliveries run concurrently.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import httpx

from tether_emulators.asana.errors import bad_request
from tether_emulators.asana.events import Event
from tether_emulators.asana.store import JSON
from tether_emulators.asana.webhook_model import Webhook

DeliveryStatus = Literal["pending", "held", "delivered", "failed", "dropped", "cancelled"]
MAX_LOGGED_DELIVERIES = 10_000


def asana_signature(secret: str, body: bytes) -> str:
    """``X-Hook-Signature``: hex HMAC-SHA256 of the raw body, keyed with the webhook's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """One POST to one webhook's target, with each attempt's outcome."""

    id: int
    webhook_gid: str
    target: str
    body: bytes
    signature: str
    heartbeat: bool
    status: DeliveryStatus = "pending"
    attempts: list[int | str] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "webhook": self.webhook_gid,
            "target": self.target,
            "heartbeat": self.heartbeat,
            "events": json.loads(self.body)["events"],
            "status": self.status,
            "attempts": self.attempts,
        }


class WebhookDispatcher:
    """Handshakes (inline) and deliveries (background tasks of the running loop).

    ``lookup`` answers the webhook as it is now (None once deleted), so retries stop when it
    disappears; ``on_give_up`` deletes a webhook whose deliveries keep failing.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None,
        retry_delays: Sequence[float],
        timeout: float,
        lookup: Callable[[str], Webhook | None],
        on_give_up: Callable[[str], None],
        now: Callable[[], str],
    ) -> None:
        self.transport = transport
        self.retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._lookup = lookup
        self._on_give_up = on_give_up
        self._now = now
        self.paused = False
        self.drop_next = 0
        self.deliveries: deque[Delivery] = deque(maxlen=MAX_LOGGED_DELIVERIES)
        self._held: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._sequence = 0

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        # An injected transport belongs to the caller (tests route targets in-process).
        if self.transport is not None:
            yield httpx.AsyncClient(transport=self.transport, timeout=self._timeout)
            return
        async with httpx.AsyncClient(timeout=self._timeout, trust_env=False) as client:
            yield client

    async def handshake(self, target: str) -> str:
        """POST the new secret to the target; it must answer 200/204 echoing it."""
        secret = secrets.token_hex(32)
        try:
            async with self._client() as client:
                response = await client.post(target, headers={"X-Hook-Secret": secret})
        except Exception as exc:  # a target that cannot answer, whatever the reason
            raise bad_request(
                f"The remote server did not respond to the handshake: {type(exc).__name__}"
            ) from exc
        echoed = response.headers.get("x-hook-secret", "")
        if response.status_code not in (200, 204) or not hmac.compare_digest(echoed, secret):
            raise bad_request(
                "The remote server did not respond with the handshake secret "
                f"(status {response.status_code})."
            )
        return secret

    def heartbeat(self, webhook: Webhook) -> Delivery:
        return self._send(webhook, [], heartbeat=True)

    def dispatch(self, webhook: Webhook, events: list[Event]) -> Delivery:
        return self._send(webhook, [event.compact() for event in events], heartbeat=False)

    def _send(self, webhook: Webhook, events: list[JSON], *, heartbeat: bool) -> Delivery:
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        self._sequence += 1
        delivery = Delivery(
            self._sequence,
            webhook.gid,
            webhook.target,
            body,
            asana_signature(webhook.secret, body),
            heartbeat,
        )
        self.deliveries.append(delivery)
        if self.drop_next > 0 and not heartbeat:
            self.drop_next -= 1
            delivery.status = "dropped"
        elif self.paused:
            delivery.status = "held"
            self._held.append(delivery)
        else:
            self._start(delivery)
        return delivery

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
                webhook = self._lookup(delivery.webhook_gid)
                if webhook is None:
                    delivery.status = "cancelled"
                    return
                outcome = await self._attempt(delivery)
                delivery.attempts.append(outcome)
                if self._settle(webhook, outcome):
                    delivery.status = "delivered"
                    return
            delivery.status = "failed"
            self._on_give_up(delivery.webhook_gid)
        except asyncio.CancelledError:
            delivery.status = "cancelled"
            raise

    def _settle(self, webhook: Webhook, outcome: int | str) -> bool:
        if isinstance(outcome, int) and 200 <= outcome < 300:
            webhook.last_success_at = self._now()
            webhook.delivery_retry_count = 0
            return True
        webhook.last_failure_at = self._now()
        webhook.last_failure_content = str(outcome)
        webhook.delivery_retry_count += 1
        return False

    async def _attempt(self, delivery: Delivery) -> int | str:
        headers = {
            "Content-Type": "application/json",
            "X-Hook-Signature": delivery.signature,
            "User-Agent": "Asana-Emulator (tether_emulators)",
        }
        try:
            async with self._client() as client:
                response = await client.post(
                    delivery.target, content=delivery.body, headers=headers
                )
        except Exception as exc:
            # Network errors, timeouts and receivers that raised are all failed attempts.
            return type(exc).__name__
        return response.status_code
