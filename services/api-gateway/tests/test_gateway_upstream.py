"""When task-core is down, slow or broken the gateway says so (503/502) instead of failing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

IssueToken = Callable[[str, str], Awaitable[str]]
StartGateway = Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]
Handler = Callable[[httpx.Request], httpx.Response]


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def fail(_: httpx.Request) -> httpx.Response:
    return httpx.Response(500, text="Internal Server Error")


def overloaded(_: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="try later")


REQUESTS = [
    ("POST", "/v1/tasks", {"title": "x"}),
    ("GET", "/v1/tasks", None),
    ("GET", "/v1/tasks/abc", None),
    ("PATCH", "/v1/tasks/abc", {"title": "y"}),
    ("DELETE", "/v1/tasks/abc", None),
]


@pytest.mark.parametrize(
    ("handler", "hint"),
    [(refuse, "unreachable"), (time_out, "in time"), (fail, "HTTP 500"), (overloaded, "HTTP 503")],
    ids=["refused", "timeout", "error", "overloaded"],
)
@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
async def test_task_core_down_is_503_upstream_unavailable(
    start_gateway: StartGateway,
    issue_token: IssueToken,
    handler: Handler,
    hint: str,
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    token = await issue_token("acme", "ann@acme.test")
    async with start_gateway(httpx.MockTransport(handler)) as client:
        response = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert "task-core" in error["message"]
    assert hint in error["message"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"id": "missing everything else"}),
        httpx.Response(409, json={"error": {"code": "conflict", "message": "?"}}),
        httpx.Response(422, json={"detail": "not a list"}),
    ],
    ids=["not-json", "wrong-shape", "unexpected-status", "odd-422"],
)
async def test_answers_outside_the_contract_are_502(
    start_gateway: StartGateway, issue_token: IssueToken, answer: httpx.Response
) -> None:
    token = await issue_token("acme", "ann@acme.test")
    async with start_gateway(httpx.MockTransport(lambda _: answer)) as client:
        response = await client.get("/v1/tasks/abc", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


async def test_not_ready_while_task_core_is_down(start_gateway: StartGateway) -> None:
    async with start_gateway(httpx.MockTransport(refuse)) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["task_core"].startswith("failing")


async def test_ready_when_database_and_task_core_answer(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "task_core": "ok"}}
