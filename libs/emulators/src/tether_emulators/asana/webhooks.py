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

The queue and what tests do to it (pause, resume, drop-next, flush) are common/deliveries.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from tether_emulators.asana.errors import bad_request
from tether_emulators.asana.events import Event
from tether_emulators.asana.store import JSON
from tether_emulators.asana.webhook_model import Webhook
from tether_emulators.common.deliveries import (
    Delivery,
    DeliveryQueue,
    DeliveryStatus,
    Outcome,
    succeeded,
)


def asana_signature(secret: str, body: bytes) -> str:
    """``X-Hook-Signature``: hex HMAC-SHA256 of the raw body, keyed with the webhook's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(kw_only=True)
class AsanaDelivery(Delivery):
    """One POST to one webhook's target: some events, or none (a heartbeat)."""

    heartbeat: bool

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "webhook": self.webhook_id,
            "target": self.url,
            "heartbeat": self.heartbeat,
            "events": json.loads(self.body)["events"],
            "status": self.status,
            "attempts": self.attempts,
        }


class WebhookDispatcher(DeliveryQueue[AsanaDelivery, Webhook]):
    """Handshakes (inline), signatures and webhook bookkeeping over the shared queue
    (common/deliveries.py); ``forget`` deletes a webhook whose deliveries keep failing."""

    user_agent = "Asana-Emulator (tether_emulators)"

    async def handshake(self, target: str) -> str:
        """POST the new secret to the target; it must answer 200/204 echoing it."""
        secret = secrets.token_hex(32)
        try:
            async with self.client() as client:
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

    def heartbeat(self, webhook: Webhook) -> AsanaDelivery:
        return self._send(webhook, [], heartbeat=True)

    def dispatch(self, webhook: Webhook, events: list[Event]) -> AsanaDelivery:
        return self._send(webhook, [event.compact() for event in events], heartbeat=False)

    def _send(self, webhook: Webhook, events: list[JSON], *, heartbeat: bool) -> AsanaDelivery:
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        delivery = AsanaDelivery(
            id=self.next_id(),
            webhook_id=webhook.gid,
            url=webhook.target,
            body=body,
            headers={"X-Hook-Signature": asana_signature(webhook.secret, body)},
            heartbeat=heartbeat,
        )
        # drop-next stands for lost events; a heartbeat carries none, so it is never the one lost.
        return self.enqueue(delivery, droppable=not heartbeat)

    def worth_trying(self, delivery: AsanaDelivery, attempt: int) -> bool:
        return self.lookup(delivery.webhook_id) is not None

    def settle(self, delivery: AsanaDelivery, outcome: Outcome) -> DeliveryStatus | None:
        webhook = self.lookup(delivery.webhook_id)
        if succeeded(outcome):
            if webhook is not None:
                webhook.last_success_at = self.now()
                webhook.delivery_retry_count = 0
            return "delivered"
        if webhook is not None:
            webhook.last_failure_at = self.now()
            webhook.last_failure_content = str(outcome)
            webhook.delivery_retry_count += 1
        return None

    def gave_up(self, delivery: AsanaDelivery) -> None:
        # Asana deletes a webhook whose deliveries kept failing (after 24 hours of retries).
        self.forget(delivery.webhook_id)
