"""Webhook intake: size limit, signatures on raw bytes, JSON, dedupe, handling."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from tether_connector_runtime.webhooks import (
    InMemoryDeliveryLog,
    SignatureInvalid,
    asana_signature,
    constant_time_equals,
    jira_hub_signature,
    trello_signature,
    verify_asana_signature,
    verify_jira_hub_signature,
    verify_trello_signature,
    webhook_router,
)

SECRET = "app-secret"
URL = "https://tether.example/webhooks/trello"
BODY = b'{"action": {"id": "a1", "type": "updateCard"}, "model": {"id": "b1"}}'


# signatures ------------------------------------------------------------------------------------
def test_trello_signature_is_base64_hmac_sha1_of_body_and_callback_url() -> None:
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), BODY + URL.encode(), hashlib.sha1).digest()
    ).decode()
    assert trello_signature(SECRET, BODY, URL) == expected
    verify_trello_signature(SECRET, BODY, URL, expected)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_trello_signature(SECRET, BODY, URL + "/other", expected)
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify_trello_signature(SECRET, BODY + b" ", URL, expected)


def test_asana_signature_is_hex_hmac_sha256() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert asana_signature(SECRET, BODY) == expected
    verify_asana_signature(SECRET, BODY, expected)
    verify_asana_signature(SECRET, BODY, expected.upper())
    with pytest.raises(SignatureInvalid):
        verify_asana_signature("other", BODY, expected)


def test_jira_hub_signature_is_prefixed_hex_hmac_sha256() -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert jira_hub_signature(SECRET, BODY) == expected
    verify_jira_hub_signature(SECRET, BODY, expected)
    verify_jira_hub_signature(SECRET, BODY, expected.replace("sha256=", "SHA256="))
    with pytest.raises(SignatureInvalid):
        verify_jira_hub_signature(SECRET, BODY, expected.removeprefix("sha256="))


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_signature_is_invalid(header: str | None) -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        verify_asana_signature(SECRET, BODY, header)


def test_an_empty_secret_trusts_nothing() -> None:
    forged = trello_signature("", BODY, URL)
    with pytest.raises(SignatureInvalid, match="no webhook secret"):
        verify_trello_signature("", BODY, URL, forged)


def test_constant_time_equals() -> None:
    assert constant_time_equals("abc", b"abc")
    assert not constant_time_equals("abc", "abd")
    assert constant_time_equals("é", "é")  # non-ASCII str works (compare_digest alone refuses)
    assert not constant_time_equals(b"a", b"ab")


# the router --------------------------------------------------------------------------------------
class Intake:
    def __init__(self, *, fail: bool = False) -> None:
        self.handled: list[bytes] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def handle(self, body: bytes, request: Request) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("downstream unavailable")
        self.handled.append(body)


def verify(request: Request, body: bytes) -> None:
    verify_trello_signature(SECRET, body, URL, request.headers.get("x-trello-webhook"))


def delivery_id(request: Request, body: bytes) -> str:
    return f"trello:{json.loads(body)['action']['id']}"


def make_app(intake: Intake, log: InMemoryDeliveryLog, **options: object) -> FastAPI:
    app = FastAPI()
    app.include_router(
        webhook_router(
            "/webhooks/trello",
            verify=options.pop("verify", verify),  # type: ignore[arg-type]
            delivery_id=delivery_id,
            handle=intake.handle,
            seen=log,
            **options,  # type: ignore[arg-type]
        )
    )
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def signed(body: bytes = BODY) -> dict[str, str]:
    return {"X-Trello-Webhook": trello_signature(SECRET, body, URL)}


async def test_a_signed_delivery_is_handled_once() -> None:
    intake, log = Intake(), InMemoryDeliveryLog()
    async with client(make_app(intake, log)) as http:
        first = await http.post("/webhooks/trello", content=BODY, headers=signed())
        again = await http.post("/webhooks/trello", content=BODY, headers=signed())
    assert first.status_code == 200
    assert first.json() == {"status": "accepted", "delivery_id": "trello:a1"}
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert intake.handled == [BODY]  # the raw bytes, as signed


async def test_a_bad_signature_is_refused_and_nothing_processed() -> None:
    intake, log = Intake(), InMemoryDeliveryLog()
    async with client(make_app(intake, log)) as http:
        forged = await http.post(
            "/webhooks/trello", content=BODY, headers={"X-Trello-Webhook": "Zm9yZ2Vk"}
        )
        unsigned = await http.post("/webhooks/trello", content=BODY)
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "signature_invalid"
    assert "X-Trello-Webhook" in forged.json()["error"]["message"]
    assert unsigned.status_code == 401
    assert intake.handled == []
    assert not await log.seen("trello:a1")


async def test_async_verify_is_awaited() -> None:
    async def refuse(request: Request, body: bytes) -> None:
        await asyncio.sleep(0)
        raise SignatureInvalid("nope")

    intake = Intake()
    async with client(make_app(intake, InMemoryDeliveryLog(), verify=refuse)) as http:
        response = await http.post("/webhooks/trello", content=BODY, headers=signed())
    assert response.status_code == 401
    assert intake.handled == []


async def test_an_oversized_body_is_refused_by_declared_length() -> None:
    intake = Intake()
    big = b"x" * 2000
    async with client(make_app(intake, InMemoryDeliveryLog(), max_body_bytes=1000)) as http:
        response = await http.post("/webhooks/trello", content=big, headers=signed(big))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert intake.handled == []


async def test_an_oversized_body_is_refused_while_streaming() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100  # chunked: no Content-Length to trust

    intake = Intake()
    async with client(make_app(intake, InMemoryDeliveryLog(), max_body_bytes=1000)) as http:
        response = await http.post("/webhooks/trello", content=chunks())
    assert response.status_code == 413


async def test_a_lying_content_length_does_not_help() -> None:
    intake = Intake()
    big = b"x" * 2000
    app = make_app(intake, InMemoryDeliveryLog(), max_body_bytes=1000)
    async with client(app) as http:
        request = http.build_request("POST", "/webhooks/trello", content=big)
        request.headers["Content-Length"] = "10"
        response = await http.send(request)
    assert response.status_code == 413


async def test_malformed_json_is_a_400_naming_the_problem() -> None:
    intake = Intake()
    body = b'{"action": '
    async with client(make_app(intake, InMemoryDeliveryLog())) as http:
        response = await http.post("/webhooks/trello", content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "not valid JSON" in response.json()["error"]["message"]
    assert intake.handled == []


async def test_a_delivery_without_an_id_is_a_400() -> None:
    intake = Intake()
    body = b'{"model": {}}'
    async with client(make_app(intake, InMemoryDeliveryLog())) as http:
        response = await http.post("/webhooks/trello", content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_delivery"


async def test_a_failed_handling_is_not_recorded_so_the_retry_is_processed() -> None:
    intake, log = Intake(fail=True), InMemoryDeliveryLog()
    async with client(make_app(intake, log)) as http:
        failed = await http.post("/webhooks/trello", content=BODY, headers=signed())
        intake.fail = False
        retried = await http.post("/webhooks/trello", content=BODY, headers=signed())
    assert failed.status_code == 500
    assert retried.json()["status"] == "accepted"
    assert intake.handled == [BODY]


async def test_a_concurrent_duplicate_is_asked_to_retry() -> None:
    intake, log = Intake(), InMemoryDeliveryLog()
    intake.gate = asyncio.Event()
    async with client(make_app(intake, log)) as http:
        first = asyncio.create_task(http.post("/webhooks/trello", content=BODY, headers=signed()))
        await asyncio.wait_for(intake.entered.wait(), timeout=5)
        second = await http.post("/webhooks/trello", content=BODY, headers=signed())
        intake.gate.set()
        assert (await first).status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "delivery_in_progress"
    assert intake.handled == [BODY]


async def test_head_answers_200_for_trello_callback_checks() -> None:
    async with client(make_app(Intake(), InMemoryDeliveryLog())) as http:
        response = await http.head("/webhooks/trello")
    assert response.status_code == 200


async def test_a_handshake_is_answered_before_any_check() -> None:
    async def asana_handshake(request: Request) -> Response | None:
        secret = request.headers.get("x-hook-secret")
        return None if secret is None else Response(headers={"X-Hook-Secret": secret})

    intake = Intake()
    app = make_app(intake, InMemoryDeliveryLog(), handshake=asana_handshake)
    async with client(app) as http:
        response = await http.post("/webhooks/trello", headers={"X-Hook-Secret": "s3"})
        normal = await http.post("/webhooks/trello", content=BODY, headers=signed())
    assert response.status_code == 200
    assert response.headers["x-hook-secret"] == "s3"
    assert normal.json()["status"] == "accepted"


async def test_the_in_memory_log_is_bounded() -> None:
    log = InMemoryDeliveryLog(max_entries=2)
    for ident in ("a", "b", "c"):
        await log.record(ident)
    assert not await log.seen("a")
    assert await log.seen("b")
    assert await log.seen("c")
