"""How Trello calls back: ``HEAD`` to check the URL, then signed deliveries (PROVIDERS.md).

``X-Trello-Webhook`` is base64(HMAC-SHA1(app secret, raw body + callback URL as registered)).
A delivery is one action on the watched model (a board); its id names the delivery, the card
it concerns is observed, and the fields its ``data.old`` names carry the action's date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi import Request, Response

from tether_connector_runtime.port import Delivery
from tether_connector_runtime.signatures import verify_trello_signature
from trello_connector.mapping import action_notice


class TrelloWebhooks:
    def __init__(self, api_secret: str) -> None:
        self._secret = api_secret

    async def handshake(self, request: Request) -> Response | None:
        return None  # Trello's check is a HEAD, which the intake answers

    def verify(self, body: bytes, headers: Mapping[str, str], url: str) -> None:
        verify_trello_signature(self._secret, body, url, headers.get("x-trello-webhook", ""))

    def parse(self, body: bytes) -> Delivery:
        payload = json.loads(body)
        action = payload["action"]
        notice = action_notice(action)
        notices = [notice] if notice is not None else []
        return Delivery(
            delivery_id=str(action["id"]), model_id=str(payload["model"]["id"]), notices=notices
        )
