"""How Asana calls back: the X-Hook-Secret handshake, X-Hook-Signature on the raw body with
that webhook's secret, and deliveries turned into one notice per task (heartbeats none)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from asana_connector.dialect import AsanaWebhooks
from tether_connector_runtime.signatures import SignatureInvalid
from tether_connector_runtime.webhooks import MalformedDelivery
from tether_emulators.asana import asana_signature

SECRET = "a" * 64
URL = "http://tether.test/webhooks/asana/key1"


def receiver(dialect: AsanaWebhooks) -> FastAPI:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        answered = await dialect.handshake(request)
        return answered if answered is not None else Response("not a handshake", 418)

    return app


async def post(app: FastAPI, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/hook", headers=headers)


async def test_the_handshake_is_answered_200_echoing_the_secret() -> None:
    answer = await post(receiver(AsanaWebhooks()), {"X-Hook-Secret": SECRET})
    assert answer.status_code == 200
    assert answer.headers["x-hook-secret"] == SECRET


async def test_a_request_without_the_header_is_no_handshake() -> None:
    assert (await post(receiver(AsanaWebhooks()), {})).status_code == 418


def test_a_delivery_signed_with_the_webhooks_secret_is_accepted() -> None:
    body = b'{"events": []}'
    headers = {"x-hook-signature": asana_signature(SECRET, body)}
    AsanaWebhooks().verify(body, headers, URL, SECRET)


@pytest.mark.parametrize(
    ("signature", "secret"),
    [
        (asana_signature("another secret", b'{"events": []}'), SECRET),  # another webhook's
        (asana_signature(SECRET, b'{"events": [1]}'), SECRET),  # another body
        (None, SECRET),  # unsigned
        (asana_signature("", b'{"events": []}'), None),  # no secret stored: nothing holds
    ],
)
def test_a_bad_or_missing_signature_is_refused(signature: str | None, secret: str | None) -> None:
    headers = {} if signature is None else {"x-hook-signature": signature}
    with pytest.raises(SignatureInvalid):
        AsanaWebhooks().verify(b'{"events": []}', headers, URL, secret)


def event(gid: str, resource_type: str = "task", action: str = "changed") -> dict[str, object]:
    return {
        "user": {"gid": "1", "resource_type": "user"},
        "created_at": "2026-05-01T10:00:00.000Z",
        "action": action,
        "resource": {"gid": gid, "resource_type": resource_type},
        "parent": None,
        "change": {"field": "name", "action": "changed"},
    }


def test_a_delivery_names_each_task_once() -> None:
    body = json.dumps(
        {"events": [event("11"), event("12", action="added"), event("11"), event("5", "story")]}
    ).encode()
    delivery = AsanaWebhooks().parse(body, {})
    assert [n.external_id for n in delivery.notices] == ["11", "12"]


def test_a_heartbeat_names_nothing() -> None:
    assert AsanaWebhooks().parse(b'{"events": []}', {}).notices == []


def test_the_delivery_id_is_the_bodys_digest_so_a_retry_is_a_duplicate() -> None:
    one = json.dumps({"events": [event("11")]}).encode()
    other = json.dumps({"events": [event("12")]}).encode()
    dialect = AsanaWebhooks()
    assert dialect.parse(one, {}).delivery_id == dialect.parse(one, {}).delivery_id
    assert dialect.parse(one, {}).delivery_id != dialect.parse(other, {}).delivery_id


@pytest.mark.parametrize(
    "body", [b"not json", b'{"events": {}}', b'{"data": []}', b'{"events": [{"resource": 1}]}']
)
def test_a_body_of_another_shape_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        AsanaWebhooks().parse(body, {})


def test_each_webhook_has_its_own_url() -> None:
    assert AsanaWebhooks().per_webhook_url is True
