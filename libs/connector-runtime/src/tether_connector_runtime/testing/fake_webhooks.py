"""The fake provider's webhook dialect: JSON deliveries signed by HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime

from fastapi import Request, Response

from tether_connector_runtime.port import Delivery, ItemNotice
from tether_connector_runtime.signatures import SignatureInvalid, constant_time_equals
from tether_sync import FIELD_NAMES, FieldName, FieldValue, due_json, normalise_due

SIGNATURE_HEADER = "x-fake-signature"


class FakeWebhooks:
    """Deliveries are JSON ``{"delivery_id", "model_id", "notices": [{"external_id",
    "field_edited_at": {field: iso time}, "field_values": {field: value}}]}`` signed by hex
    HMAC-SHA256 of the raw body."""

    per_webhook_url = False

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def handshake(self, request: Request) -> Response | None:
        return None

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        received = headers.get(SIGNATURE_HEADER)
        if not received:
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header is missing")
        if not constant_time_equals(self.sign(body), received):
            raise SignatureInvalid(f"the {SIGNATURE_HEADER} header does not match the body")

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret.encode(), body, hashlib.sha256).hexdigest()

    def parse(self, body: bytes) -> Delivery:
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
        return Delivery(str(payload["delivery_id"]), str(payload["model_id"]), notices)

    def delivery(
        self, delivery_id: str, model_id: str, notices: list[ItemNotice]
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery's body and headers, as the provider would POST them."""
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
            }
        ).encode()
        return body, {SIGNATURE_HEADER: self.sign(body)}


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
