"""Connections are routed to the connector of their provider, with clear answers when it
refuses or is unreachable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings

CONNECTION = {
    "id": "trello_abc123",
    "provider": "trello",
    "account_id": "m1",
    "account_name": "ada",
    "status": "active",
    "created_at": "2026-11-28T10:00:00Z",
}


def fake_trello(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.method == "POST" and path.endswith("/connections"):
        if json.loads(request.content)["token"] == "good-token":
            return httpx.Response(201, json=CONNECTION)
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": "token_rejected",
                    "message": "Trello rejected the token: invalid token",
                }
            },
        )
    if path.endswith("/connections"):
        return httpx.Response(200, json=[CONNECTION])
    if path.endswith("/trello_abc123/targets"):
        return httpx.Response(
            200,
            json={
                "boards": [{"id": "b1", "name": "Work", "lists": [{"id": "l1", "name": "To do"}]}]
            },
        )
    return httpx.Response(
        404, json={"error": {"code": "connection_not_found", "message": "no Trello connection"}}
    )


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def start(
    settings: GatewaySettings,
) -> Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]]:
    async def run(trello: httpx.MockTransport) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            settings,
            task_core_transport=httpx.MockTransport(unreachable),
            connector_transports={"trello": trello},
        )
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
            ) as client,
        ):
            yield client

    return run


async def test_connect_list_and_targets(
    start: Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]],
    issue_token: Callable[[str, str], Awaitable[str]],
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    async for api in start(httpx.MockTransport(fake_trello)):
        created = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "good-token"}
        )
        assert created.status_code == 201
        assert created.json()["id"] == "trello_abc123"
        assert [c["id"] for c in (await api.get("/v1/connections", headers=headers)).json()] == [
            "trello_abc123"
        ]
        targets = await api.get("/v1/connections/trello_abc123/targets", headers=headers)
        assert targets.json()["boards"][0]["lists"] == [{"id": "l1", "name": "To do"}]


async def test_refusals_are_specific(
    start: Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]],
    issue_token: Callable[[str, str], Awaitable[str]],
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    async for api in start(httpx.MockTransport(fake_trello)):
        rejected = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "stale-token"}
        )
        assert rejected.status_code == 400
        assert "invalid token" in rejected.json()["error"]["message"]
        asana = await api.post(
            "/v1/connections",
            headers=headers,
            json={"provider": "asana", "token": "whatever-token"},
        )
        assert asana.status_code == 422
        assert asana.json()["detail"][0]["loc"] == ["body", "provider"]
        unknown = await api.get("/v1/connections/trello_nope/targets", headers=headers)
        assert unknown.status_code == 404
        not_an_id = await api.get("/v1/connections/nope/targets", headers=headers)
        assert not_an_id.status_code == 422
        anonymous = await api.get("/v1/connections")
        assert anonymous.status_code == 401


async def test_a_connector_outage_is_a_503(
    start: Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]],
    issue_token: Callable[[str, str], Awaitable[str]],
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    async for api in start(httpx.MockTransport(unreachable)):
        answer = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "good-token"}
        )
        assert answer.status_code == 503
        assert "trello connector is unreachable" in answer.json()["error"]["message"]


async def test_held_deletions_are_listed_and_confirmed_through_the_connector(
    start: Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]],
    issue_token: Callable[[str, str], Awaitable[str]],
) -> None:
    seen: list[tuple[str, str]] = []

    def trello(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path.endswith("/trello_abc123/deletions"):
            return httpx.Response(
                200,
                json={
                    "connection_id": "trello_abc123",
                    "paused": True,
                    "approved_until": None,
                    "held": [
                        {
                            "link_id": "l9",
                            "task_id": "t9",
                            "direction": "provider",
                            "held_at": "2026-11-28T10:00:00Z",
                        }
                    ],
                },
            )
        if request.url.path.endswith("/trello_abc123/deletions/confirm"):
            return httpx.Response(200, json={"propagated": 1, "withdrawn": 0})
        return fake_trello(request)

    token = await issue_token("acme", "ada@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    async for api in start(httpx.MockTransport(trello)):
        held = await api.get("/v1/connections/trello_abc123/deletions", headers=headers)
        assert held.status_code == 200, held.text
        assert held.json()["paused"] is True
        assert [h["link_id"] for h in held.json()["held"]] == ["l9"]
        confirmed = await api.post(
            "/v1/connections/trello_abc123/deletions/confirm", headers=headers
        )
        assert confirmed.json() == {"propagated": 1, "withdrawn": 0}
        unknown = await api.post("/v1/connections/trello_nope/deletions/confirm", headers=headers)
        assert unknown.status_code == 404
        assert (await api.get("/v1/connections/trello_abc123/deletions")).status_code == 401
    # Routed to the connector under the caller's tenant, never a tenant the client names.
    deletion_calls = [(method, path) for method, path in seen if "/deletions" in path]
    assert deletion_calls[:2] == [
        ("GET", deletion_calls[0][1]),
        ("POST", deletion_calls[0][1] + "/confirm"),
    ]
    assert deletion_calls[0][1].startswith("/internal/v1/tenants/")
    assert deletion_calls[0][1].endswith("/connections/trello_abc123/deletions")


async def test_the_list_mapping_passes_through_and_its_refusals_name_the_list(
    start: Callable[[httpx.MockTransport], AsyncIterator[httpx.AsyncClient]],
    issue_token: Callable[[str, str], Awaitable[str]],
) -> None:
    stored: dict[str, object] = {"connection_id": "trello_abc123", "lists": []}

    def trello(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/trello_abc123/list-mapping"):
            return fake_trello(request)
        if request.method == "PUT":
            lists = json.loads(request.content)["lists"]
            if "nope" in lists:
                detail = [{"type": "value_error", "loc": ["body", "lists", "nope"], "msg": "?"}]
                return httpx.Response(422, json={"detail": detail})
            stored["lists"] = [
                {"list_id": k, "board_id": "b1", "meaning": v} for k, v in lists.items()
            ]
        return httpx.Response(200, json=stored)

    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    url = "/v1/connections/trello_abc123/list-mapping"
    async for api in start(httpx.MockTransport(trello)):
        saved = await api.put(
            url, headers=headers, json={"lists": {"l1": "not_done", "l2": "done"}}
        )
        assert saved.status_code == 200, saved.text
        assert [x["meaning"] for x in saved.json()["lists"]] == ["not_done", "done"]
        assert (await api.get(url, headers=headers)).json() == saved.json()
        refused = await api.put(url, headers=headers, json={"lists": {"nope": "done"}})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "lists", "nope"]
        bad = await api.put(url, headers=headers, json={"lists": {"l1": "finished"}})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"][:3] == ["body", "lists", "l1"]
