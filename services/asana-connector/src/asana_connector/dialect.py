"""How Asana calls back (https://developers.asana.com/docs/webhooks-guide; PROVIDERS.md).

- The handshake: while ``POST /webhooks`` is still open, Asana POSTs to the target with an
  ``X-Hook-Secret`` header and needs a 200 or 204 echoing it. It is answered from the request
  alone (the registering call may be open in this very process).
- Deliveries carry ``X-Hook-Signature``: hex HMAC-SHA256 of the raw body keyed with that
  webhook's secret (each webhook has its own, so each gets its own URL: ``per_webhook_url``).
- A body is ``{"events": [...]}`` of compact events naming a ``resource`` ``{gid,
  resource_type}``; ``{"events": []}`` is a heartbeat. Events carry no new values for the
  fields we map, so each task named becomes one notice (the pipeline reads the task once).
- Asana gives a delivery no id; its retries repeat the same bytes, so the body's SHA-256 is
  its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from fastapi import Request, Response
from pydantic import Field

from asana_connector.mapping import task_gids
from tether_connector_runtime.delivery_shapes import DeliveryShape, read_delivery
from tether_connector_runtime.port import Delivery, ItemNotice
from tether_connector_runtime.signatures import verify_asana_signature

HOOK_SECRET = "X-Hook-Secret"
HOOK_SIGNATURE = "x-hook-signature"
# A secret Asana hands out is 64 hex characters; anything longer is no handshake of Asana's.
_MAX_SECRET = 256


class _Resource(DeliveryShape):
    gid: str = Field(min_length=1, max_length=64)
    resource_type: str | None = None


class _Event(DeliveryShape):
    resource: _Resource | None = None


class _Payload(DeliveryShape):
    events: list[_Event]


class AsanaWebhooks:
    per_webhook_url = True

    async def handshake(self, request: Request) -> Response | None:
        secret = request.headers.get(HOOK_SECRET)
        if secret is None:
            return None
        if not secret or len(secret) > _MAX_SECRET:
            return Response(status_code=400)
        return Response(status_code=200, headers={HOOK_SECRET: secret})

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        """``SignatureInvalid`` unless ``X-Hook-Signature`` is the body's HMAC under
        ``secret`` (the webhook's own; without one nothing can be trusted)."""
        verify_asana_signature(secret or "", body, headers.get(HOOK_SIGNATURE))

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """One notice per task the events name, in order of first mention; a heartbeat has
        none. ``model_id`` is empty: Asana's body does not name the webhook, its URL does.
        ``MalformedDelivery``: not ``{"events": [...]}`` with typed resources."""
        raw, _ = read_delivery(body, _Payload)
        return Delivery(
            delivery_id=hashlib.sha256(body).hexdigest(),
            model_id="",
            notices=[ItemNotice(gid) for gid in task_gids(raw["events"])],
        )
