"""Every /v1 request needs a live API token; without one the answer is 401 and nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from structlog.testing import capture_logs

IssueToken = Callable[[str, str], Awaitable[str]]
RevokeToken = Callable[[str], Awaitable[None]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer tth_not-a-real-token"},
        {"Authorization": "Bearer something-else-entirely"},
        {"Authorization": "Bearer tth_" + "x" * 500},
    ],
    ids=["missing", "basic", "empty", "unknown", "foreign", "oversized"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/me"),
        ("GET", "/v1/tasks"),
        ("POST", "/v1/tasks"),
        ("GET", "/v1/tasks/abc"),
        ("PATCH", "/v1/tasks/abc"),
        ("DELETE", "/v1/tasks/abc"),
    ],
)
async def test_requests_without_a_valid_token_get_401(
    client: httpx.AsyncClient,
    task_core_requests: list[httpx.Request],
    headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    response = await client.request(method, path, headers=headers, json={"title": "x"})
    assert_unauthorized(response)
    assert task_core_requests == []


async def test_a_revoked_token_gets_401(
    client: httpx.AsyncClient, issue_token: IssueToken, revoke_token: RevokeToken
) -> None:
    token = await issue_token("acme", "ann@acme.test")
    kept = await issue_token("acme", "ann@acme.test")
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200

    await revoke_token(token)

    assert_unauthorized(await client.get("/v1/tasks", headers=bearer(token)))
    assert (await client.get("/v1/me", headers=bearer(kept))).status_code == 200


async def test_authentication_comes_before_input_validation(
    client: httpx.AsyncClient,
) -> None:
    # An anonymous caller learns nothing about the API's input rules.
    response = await client.post("/v1/tasks", json={"nonsense": True})
    assert_unauthorized(response)


async def test_me_names_the_tenant_and_user_of_the_token(
    client: httpx.AsyncClient, issue_token: IssueToken
) -> None:
    token = await issue_token("acme", "Ann@Acme.test")

    response = await client.get("/v1/me", headers=bearer(token))

    assert response.status_code == 200
    me = response.json()
    assert me["tenant"]["name"] == "acme"
    assert me["user"]["email"] == "ann@acme.test"
    assert token.startswith(me["token"]["prefix"])
    assert token not in response.text


async def test_tokens_never_reach_the_logs(
    client: httpx.AsyncClient, issue_token: IssueToken
) -> None:
    token = await issue_token("acme", "ann@acme.test")
    with capture_logs() as logs:
        await client.get("/v1/tasks", headers=bearer(token))
        await client.get("/v1/tasks", headers=bearer(token + "x"))
    assert logs, "the request log should have recorded the requests"
    assert all(token not in repr(entry) for entry in logs)


async def test_health_and_metrics_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "tether_http_requests_total" in metrics.text
