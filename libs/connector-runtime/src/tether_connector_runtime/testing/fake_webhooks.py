"""The fake provider's webhook dialect: JSON deliveries signed by HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime

from fastapi import Request, Response

from tether_connector_runtime.port import Delivery, ItemNotice, PlaceMove
from tether_connector_runtime.signatures import SignatureInvalid, constant_time_equals
from tether_sync import FIELD_NAMES, FieldName, FieldValue, due_json, normalise_due

SIGNATURE_HEADER = "x-fake-signature"
HANDSHAKE_HEADER = "x-fake-hook-secret"


class FakeWebhooks:
    """Deliveries are JSON ``{"delivery_id", "model_id", "notices": [{"external_id",
    "field_edited_at": {field: iso time}, "field_values": {field: value}}]}`` signed by hex
    HMAC-SHA256 of the raw body: with the app-wide ``secret``, or ``per_webhook_url``: with
    each webhook's own secret, which its handshake (a POST carrying ``x-fake-hook-secret``,
    answered by echoing it, as Asana's ``X-Hook-Secret``) announces."""

    def __init__(self, secret: str, *, per_webhook_url: bool = False) -> None:
        self._secret = secret
        self.per_webhook_url = per_webhook_url

    async def handshake(self, request: Request) -> Response | None:
        offered = request.headers.get(HANDSHAKE_HEADER)
        if not self.per_webhook_url or offered is None:
            return None
        return Response(status_code=200, headers={HANDSHAKE_HEADER: offered})

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        received = headers.get(SIGNATURE_HEADER)
        if not received:
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header is missing")
        if self.per_webhook_url and secret is None:
            raise SignatureInvalid("no secret is stored for this webhook")
        if not constant_time_equals(self.sign(body, secret), received):
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header does not match the body")

    def sign(self, body: bytes, secret: str | None = None) -> str:
        """The signature of ``body`` with ``secret`` (a webhook's own; None: the app's)."""
        key = self._secret if secret is None else secret
        return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        payload = json.loads(body)
        notices = [
            ItemNotice(
                str(n["external_id"]),
                {
                    field_name(k): datetime.fromisoformat(v)
                    for k, v in (n.get("field_edited_at") or {}).items()
                },
                {field_name(k): _decoded(k, v) for k, v in (n.get("field_values") or {}).items()},
            )
            for n in payload["notices"]
        ]
        moved = [
            PlaceMove(str(m["place_id"]), str(m["from_container"]))
            for m in payload.get("places_moved") or []
        ]
        return Delivery(str(payload["delivery_id"]), str(payload["model_id"]), notices, moved)

    def delivery(
        self,
        delivery_id: str,
        model_id: str,
        notices: list[ItemNotice],
        secret: str | None = None,
        places_moved: list[PlaceMove] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery's body and headers, as the provider would POST them (``secret``:
        the webhook's own, for a dialect with one per webhook; ``places_moved``: places the
        delivery says moved, as Trello's list moves)."""
        body = json.dumps(
            {
                "delivery_id": delivery_id,
                "model_id": model_id,
                "notices": [
                    {
                        "external_id": n.external_id,
                        "field_edited_at": {k: v.isoformat() for k, v in n.field_edited_at.items()},
                        "field_values": {k: _encoded(v) for k, v in n.field_values.items()},
                    }
                    for n in notices
                ],
                "places_moved": [
                    {"place_id": m.place_id, "from_container": m.from_container}
                    for m in places_moved or []
                ],
            }
        ).encode()
        return body, {SIGNATURE_HEADER: self.sign(body, secret)}


def field_name(name: str) -> FieldName:
    for known in FIELD_NAMES:
        if known == name:
            return known
    raise ValueError(f"not a synced field: {name!r}")


def _encoded(value: FieldValue) -> str | bool | None:
    return due_json(value) if isinstance(value, date) else value


def _decoded(name: str, value: str | bool | None) -> FieldValue:
    if name == "due" and isinstance(value, str):
        return normalise_due(value)
    return value
