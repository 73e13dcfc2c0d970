"""A signed webhook body that is no delivery (any adapter's parser failing on its shape, or JSON
nested deeper than the parser goes) is a 400 in the one error shape, never a 500, and nothing
is handled or recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from tether_connector_runtime.webhooks import (
    InMemoryDeliveryLog,
    MalformedDelivery,
    trello_signature,
    verify_trello_signature,
    webhook_router,
)

SECRET = "app-secret"
URL = "https://tether.example/webhooks/test"


def parser(reads: Callable[[Any], str]) -> Callable[[Request, bytes], str]:
    """A delivery id function that reads the parsed body as an adapter's parser would."""

    def delivery_id(request: Request, body: bytes) -> str:
        return reads(json.loads(body))

    return delivery_id


def malformed(_: Any) -> str:
    raise MalformedDelivery("action.id: Field required")


def surrogate(_: Any) -> str:
    raise MalformedDelivery("action.id: not text: 'a\ud800'")


READERS: dict[str, Callable[[Any], str]] = {
    "attribute": lambda body: str(body["action"]["data"].get("card")),  # data is a list
    "index": lambda body: str(body["actions"][3]),
    "key": lambda body: str(body["model"]["id"]),
    "type": lambda body: "trello:" + body["action"]["id"],  # an int
    "malformed": malformed,
    "message-with-a-lone-surrogate": surrogate,
}


class Recorder:
    def __init__(self) -> None:
        self.handled: list[bytes] = []

    async def handle(self, body: bytes, request: Request) -> None:
        self.handled.append(body)


async def post(app: FastAPI, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"X-Trello-Webhook": trello_signature(SECRET, body, URL)}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.post("/webhooks/test", content=body, headers=headers)


def app_with(
    delivery_id: Callable[[Request, bytes], str], recorder: Recorder, log: InMemoryDeliveryLog
) -> FastAPI:
    def verify(request: Request, body: bytes) -> None:
        verify_trello_signature(SECRET, body, URL, request.headers.get("x-trello-webhook"))

    app = FastAPI()
    app.include_router(
        webhook_router(
            "/webhooks/test",
            verify=verify,
            delivery_id=delivery_id,
            handle=recorder.handle,
            seen=log,
        )
    )
    return app


@pytest.mark.parametrize("reader", list(READERS))
async def test_a_parser_failing_on_the_shape_is_a_400(reader: str) -> None:
    recorder, log = Recorder(), InMemoryDeliveryLog()
    body = json.dumps({"action": {"id": 7, "data": []}, "actions": []}).encode()

    response = await post(app_with(parser(READERS[reader]), recorder, log), body)

    assert response.status_code == 400, response.text
    error = json.loads(response.content.decode("utf-8"))["error"]
    assert error["code"] == "malformed_delivery"
    assert error["message"].startswith("cannot read the delivery")
    assert recorder.handled == []


async def test_a_parsers_own_reason_is_the_message() -> None:
    body = b'{"action": {}}'
    response = await post(app_with(parser(malformed), Recorder(), InMemoryDeliveryLog()), body)
    assert response.json()["error"]["message"] == (
        "cannot read the delivery: action.id: Field required"
    )


@pytest.mark.parametrize("levels", [5_000, 100_000])
async def test_a_body_nested_beyond_the_parser_is_a_400(levels: int) -> None:
    recorder = Recorder()
    body = b'{"action": ' + b"[" * levels + b"]" * levels + b"}"

    response = await post(app_with(parser(malformed), recorder, InMemoryDeliveryLog()), body)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "malformed_json",
        "message": "body is nested too deeply",
    }
    assert recorder.handled == []
