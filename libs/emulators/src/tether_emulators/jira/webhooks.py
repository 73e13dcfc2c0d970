"""Webhook deliveries as Jira Cloud sends them
(https://developer.atlassian.com/cloud/jira/platform/webhooks/ and /work/shared/PROVIDERS.md):

- the body is ``{timestamp, webhookEvent, issue_event_type_name, user, issue, changelog}``;
  the issue is the v2 shape (description in wiki markup); dynamic webhooks add
  ``matchedWebhookIds``: one POST per app and URL, whichever of its webhooks matched;
- a dynamic (OAuth app) webhook's delivery carries ``Authorization: Bearer <JWT>``, HS256
  signed with the app's client secret, ``iss`` = the client id; an admin webhook with a
  ``secret`` signs ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``;
- ``X-Atlassian-Webhook-Identifier`` stays the same across retries, and
  ``X-Atlassian-Webhook-Retry`` (on retries only) counts them;
- retries follow 408, 409, 425, 429, 5xx answers and timeouts or network errors; any other
  answer ends the delivery. Ordering is not promised (deliveries run concurrently).

The queue and what tests do to it (pause, resume, drop-next, flush) are common/deliveries.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from tether_emulators.common.deliveries import (
    Delivery,
    DeliveryQueue,
    DeliveryStatus,
    Outcome,
    succeeded,
)
from tether_emulators.jira.webhook_model import JSON, Webhook

RETRIED_STATUSES = frozenset({408, 409, 425, 429})
JWT_LIFETIME_SECONDS = 180


def hub_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` of an admin webhook: ``sha256=`` + hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def webhook_jwt(client_id: str, client_secret: str, issued_at: datetime) -> str:
    """The JWT of a dynamic webhook's delivery: HS256 with the client secret, ``iss`` the
    client id, valid ``JWT_LIFETIME_SECONDS`` from ``issued_at``."""
    iat = int(issued_at.timestamp())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": client_id, "iat": iat, "exp": iat + JWT_LIFETIME_SECONDS}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(client_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


@dataclass(kw_only=True)
class JiraDelivery(Delivery):
    """One POST of one issue event to one URL; ``identifier`` is its
    ``X-Atlassian-Webhook-Identifier``."""

    identifier: str
    event: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "webhook": self.webhook_id,
            "url": self.url,
            "identifier": self.identifier,
            "event": self.event,
            "payload": json.loads(self.body),
            "status": self.status,
            "attempts": self.attempts,
        }


class WebhookDispatcher(DeliveryQueue[JiraDelivery, Webhook]):
    """Jira's signatures, identifiers and retry rules over the shared queue."""

    user_agent = "Atlassian Webhook HTTP Client"

    def send(self, webhook: Webhook, payload: JSON, at: datetime) -> JiraDelivery:
        """Sign and enqueue ``payload`` for ``webhook`` (the first match of its app and URL)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"X-Atlassian-Webhook-Identifier": secrets.token_hex(16)}
        if webhook.kind == "dynamic" and webhook.app and webhook.secret:
            headers["Authorization"] = "Bearer " + webhook_jwt(webhook.app, webhook.secret, at)
        elif webhook.secret:
            headers["X-Hub-Signature"] = hub_signature(webhook.secret, body)
        delivery = JiraDelivery(
            id=self.next_id(),
            webhook_id=str(webhook.id),
            url=webhook.url,
            body=body,
            headers=headers,
            identifier=headers["X-Atlassian-Webhook-Identifier"],
            event=str(payload["webhookEvent"]),
        )
        return self.enqueue(delivery)

    def attempt_headers(self, delivery: JiraDelivery, attempt: int) -> dict[str, str]:
        return {"X-Atlassian-Webhook-Retry": str(attempt)} if attempt else {}

    def worth_trying(self, delivery: JiraDelivery, attempt: int) -> bool:
        return self.lookup(delivery.webhook_id) is not None

    def settle(self, delivery: JiraDelivery, outcome: Outcome) -> DeliveryStatus | None:
        if succeeded(outcome):
            return "delivered"
        if isinstance(outcome, int) and outcome not in RETRIED_STATUSES and outcome < 500:
            return "failed"  # Jira does not retry other answers
        return None

    def gave_up(self, delivery: JiraDelivery) -> None:
        # Jira keeps the webhook; the failure shows in its failed-webhooks list.
        return None
