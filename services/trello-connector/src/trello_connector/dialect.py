"""How Trello calls back: ``HEAD`` to check the URL, then signed deliveries (PROVIDERS.md).

``X-Trello-Webhook`` is base64(HMAC-SHA1(app secret, raw body + callback URL as registered)).
A delivery is one action on the watched model (a board); its id names the delivery, the card
it concerns is observed, and the fields its ``data.old`` names carry the action's date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from pydantic import Field

from tether_connector_runtime.delivery_shapes import DeliveryShape, read_delivery
from tether_connector_runtime.port import Delivery
from tether_connector_runtime.signatures import verify_trello_signature
from tether_connector_runtime.webhooks import MalformedDelivery
from trello_connector.mapping import action_notice, list_move

_Id = Field(min_length=1, max_length=64)


class _Card(DeliveryShape):
    id: str | None = Field(default=None, max_length=64)  # no id: an action on no card
    name: str | None = None
    desc: str | None = None
    due: str | None = None


class _Ref(DeliveryShape):
    id: str | None = Field(default=None, max_length=64)


class _Data(DeliveryShape):
    card: _Card | None = None
    old: dict[str, Any] | None = None
    # A list's move to another board (mapping.list_move).
    board: _Ref | None = None
    boardSource: _Ref | None = None  # noqa: N815  (Trello's own key)
    boardTarget: _Ref | None = None  # noqa: N815
    list_: _Ref | None = Field(default=None, alias="list")


class _Action(DeliveryShape):
    id: str = _Id
    type: str | None = None
    date: str | None = None
    data: _Data | None = None


class _Model(DeliveryShape):
    id: str = _Id


class _Payload(DeliveryShape):
    action: _Action
    model: _Model


class TrelloWebhooks:
    per_webhook_url = False  # Trello's signature covers the URL, one for every webhook

    def __init__(self, api_secret: str) -> None:
        self._secret = api_secret

    async def handshake(self, request: Request) -> Response | None:
        return None  # Trello's check is a HEAD, which the intake answers

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        # Trello signs every webhook with the app's secret: ``secret`` is always None.
        verify_trello_signature(self._secret, body, url, headers.get("x-trello-webhook", ""))

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """The delivery a verified body is. ``MalformedDelivery``: not JSON of the shape
        Trello sends (an ``action`` with an ``id``, the webhook's ``model``, a card in
        ``action.data`` if any, each with the types Trello gives them)."""
        raw, payload = read_delivery(body, _Payload)
        try:
            # Types checked above; a value of the right type can still be unreadable (a
            # ``due`` that is no date).
            notice = action_notice(raw["action"])
        except ValueError as exc:
            raise MalformedDelivery(f"action: {exc}") from exc
        moved = list_move(raw["action"])
        return Delivery(
            delivery_id=payload.action.id,
            model_id=payload.model.id,
            notices=[notice] if notice is not None else [],
            places_moved=[moved] if moved is not None else [],
        )
