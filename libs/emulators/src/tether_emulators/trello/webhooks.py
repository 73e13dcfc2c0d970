"""Webhook verification and delivery, as Trello does them.

- Creating a webhook first sends ``HEAD callbackURL`` and refuses anything but a 200.
- Each delivery is ``POST callbackURL`` with ``{"action", "model"}`` and ``X-Trello-Webhook``:
  base64(HMAC-SHA1(app secret, body + callbackURL as registered)).
- Deliveries run in the background, after the API call that caused them has answered;
  failures (non-2xx, errors, timeouts) are retried a few times; ``410 Gone`` deletes the webhook.
  Several deliveries run concurrently, so, as with Trello, ordering is not promised.

The queue itself, and what tests do to it (pause/resume, drop-next to rehearse the missed
webhooks that the polling fallback must recover from, flush), is common/deliveries.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from tether_emulators.common.deliveries import (
    Delivery,
    DeliveryQueue,
    DeliveryStatus,
    Outcome,
    succeeded,
)
from tether_emulators.trello.errors import TrelloError, invalid_value
from tether_emulators.trello.store import JSON, Webhook


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


@dataclass(kw_only=True)
class TrelloDelivery(Delivery):
    """One action sent to one webhook."""

    action_id: str
    action_type: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "idWebhook": self.webhook_id,
            "callbackURL": self.url,
            "idAction": self.action_id,
            "actionType": self.action_type,
            "status": self.status,
            "attempts": self.attempts,
        }


class WebhookDispatcher(DeliveryQueue[TrelloDelivery, Webhook]):
    """Trello's check, signature and webhook bookkeeping over the shared queue
    (common/deliveries.py); ``forget`` deletes a webhook whose receiver answered 410."""

    user_agent = "Trello-Emulator (tether_emulators)"

    async def verify_callback(self, url: str) -> None:
        """Trello's creation check: ``HEAD callbackURL`` must answer 200."""
        try:
            async with self.client() as client:
                response = await client.head(url)
        except Exception as exc:  # a receiver that cannot answer, whatever the reason
            raise TrelloError(
                400, f"URL ({url}) did not return 200 status code, got {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise TrelloError(
                400, f"URL ({url}) did not return 200 status code, got {response.status_code}"
            )

    def dispatch(
        self, webhook: Webhook, action: JSON, model: JSON, *, secret: str
    ) -> TrelloDelivery:
        """Send ``{"action", "model"}`` to the webhook, signed with the app's ``secret``."""
        body = json.dumps({"action": action, "model": model}, separators=(",", ":")).encode()
        delivery = TrelloDelivery(
            id=self.next_id(),
            webhook_id=webhook.id,
            url=webhook.callback_url,
            body=body,
            headers={"X-Trello-Webhook": trello_signature(secret, body, webhook.callback_url)},
            action_id=str(action["id"]),
            action_type=str(action["type"]),
        )
        return self.enqueue(delivery)

    def worth_trying(self, delivery: TrelloDelivery, attempt: int) -> bool:
        # A webhook deleted meanwhile gets no more retries. The first attempt goes out
        # regardless: the action happened while the webhook existed (this is how the
        # deleteCard of a watched card still reaches its webhook).
        return attempt == 0 or self.lookup(delivery.webhook_id) is not None

    def settle(self, delivery: TrelloDelivery, outcome: Outcome) -> DeliveryStatus | None:
        if outcome == 410:
            self.forget(delivery.webhook_id)
            return "gone"
        if not succeeded(outcome):
            return None
        webhook = self.lookup(delivery.webhook_id)
        if webhook is not None:
            webhook.consecutive_failures = 0
            webhook.first_consecutive_fail_date = None
        return "delivered"

    def gave_up(self, delivery: TrelloDelivery) -> None:
        webhook = self.lookup(delivery.webhook_id)
        if webhook is not None:
            webhook.consecutive_failures += 1
            webhook.first_consecutive_fail_date = webhook.first_consecutive_fail_date or self.now()
