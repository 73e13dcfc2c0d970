"""History, conflicts, exports and links through the gateway: tenant-scoped proxies to
task-core, with the provider of an export derived from its connection id (the connection itself
is checked with its connector first: see test_gateway_exports)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import pytest

from tether_contracts.connections import ConnectionOut
from tether_contracts.sync import ConflictOut, LinkOut

IssueToken = Callable[[str, str], Awaitable[str]]
StartGateway = Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]


class FakeTaskCore(Protocol):
    """What these tests use of conftest's fake task-core."""

    links: dict[str, list[LinkOut]]
    conflicts: dict[str, list[ConflictOut]]


class FakeConnectors(Protocol):
    """What these tests use of conftest's fake connectors."""

    def add(self, tenant_id: str, connection_id: str) -> ConnectionOut: ...


@pytest.fixture
async def ann(issue_token: IssueToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}


@pytest.fixture
async def bob(issue_token: IssueToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_token('globex', 'bob@globex.test')}"}


async def connected(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    fake_connectors: FakeConnectors,
    connection_id: str,
) -> None:
    """``connection_id`` becomes a connection of the caller's tenant at its connector."""
    tenant_id = (await client.get("/v1/me", headers=headers)).json()["tenant"]["id"]
    fake_connectors.add(tenant_id, connection_id)


async def new_task(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    created = await client.post("/v1/tasks", headers=headers, json={"title": "Plan"})
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    return task


def conflict(task_id: str, n: int) -> ConflictOut:
    return ConflictOut(
        id=f"c{n}",
        task_id=task_id,
        field="title",
        base_value="Plan",
        core_value=f"core {n}",
        provider_value=f"trello {n}",
        core_replica="core",
        provider_replica="trello:c1",
        winner="trello:c1",
        winning_value=f"trello {n}",
        policy="latest_wins",
        resolved_at=datetime(2026, 11, 28, 12, n, tzinfo=UTC),
    )


async def test_export_derives_the_provider_and_answers_202_with_the_pending_link(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
    fake_connectors: FakeConnectors,
) -> None:
    await connected(client, ann, fake_connectors, "trello_9f2c41d7")
    task = await new_task(client, ann)
    me = (await client.get("/v1/me", headers=ann)).json()
    body = {"connection_id": "trello_9f2c41d7", "target": {"list_id": "L1"}}

    response = await client.post(f"/v1/tasks/{task['id']}/exports", headers=ann, json=body)

    assert response.status_code == 202, response.text
    link = response.json()
    assert (link["provider"], link["status"], link["connection_id"]) == (
        "trello",
        "pending",
        "trello_9f2c41d7",
    )
    assert (link["external_id"], link["url"], link["error"]) == (None, None, None)
    sent = task_core_requests[-1]
    assert sent.url.path == f"/internal/v1/tenants/{me['tenant']['id']}/tasks/{task['id']}/links"
    assert json.loads(sent.content) == {"provider": "trello", **body}

    listed = await client.get(f"/v1/tasks/{task['id']}/links", headers=ann)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [link["id"]]


async def test_an_active_links_refused_write_reaches_the_client(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    fake_task_core: FakeTaskCore,
    fake_connectors: FakeConnectors,
) -> None:
    await connected(client, ann, fake_connectors, "jira_5c1e")
    task = await new_task(client, ann)
    body = {"connection_id": "jira_5c1e", "target": {"project": "OPS"}}
    pending = (await client.post(f"/v1/tasks/{task['id']}/exports", headers=ann, json=body)).json()
    words = "Jira's workflow offers no way to a done status from status To Do"
    [stored] = fake_task_core.links[task["id"]]
    fake_task_core.links[task["id"]] = [
        stored.model_copy(update={"status": "active", "external_id": "OPS-1", "error": words})
    ]

    [link] = (await client.get(f"/v1/tasks/{task['id']}/links", headers=ann)).json()
    assert (link["id"], link["status"], link["error"]) == (pending["id"], "active", words)


@pytest.mark.parametrize(
    "connection_id", ["trello", "trello_", "github_123", "Trello_1", "9f2c41d7", "_trello"]
)
async def test_a_connection_id_of_no_known_provider_is_a_422_naming_it(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
    connection_id: str,
) -> None:
    body = {"connection_id": connection_id, "target": {"list_id": "L1"}}
    response = await client.post("/v1/tasks/abc/exports", headers=ann, json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["error"]["details"]] == [["body", "connection_id"]]
    assert task_core_requests == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"connection_id": "asana_1"}, "body.target"),
        ({"connection_id": "asana_1", "target": {}}, "body.target"),
        ({"connection_id": "asana_1", "target": {"project": 7}}, "body.target.project"),
        ({"connection_id": "asana_1", "target": {"p": "x"}, "extra": 1}, "body.extra"),
        ({"target": {"list_id": "L1"}}, "body.connection_id"),
    ],
)
async def test_a_malformed_export_is_a_422_naming_the_field(
    client: httpx.AsyncClient, ann: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/tasks/abc/exports", headers=ann, json=body)
    assert response.status_code == 422
    fields = [".".join(str(p) for p in e["loc"]) for e in response.json()["error"]["details"]]
    assert field in fields


async def test_exporting_twice_to_one_connection_is_a_409_passed_through(
    client: httpx.AsyncClient, ann: dict[str, str], fake_connectors: FakeConnectors
) -> None:
    await connected(client, ann, fake_connectors, "jira_acme")
    task = await new_task(client, ann)
    body = {"connection_id": "jira_acme", "target": {"project": "TT"}}
    first = await client.post(f"/v1/tasks/{task['id']}/exports", headers=ann, json=body)
    again = await client.post(f"/v1/tasks/{task['id']}/exports", headers=ann, json=body)
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "already_exported"
    assert error["message"]
    assert error["details"]["link_id"] == first.json()["id"]


async def test_another_tenants_task_cannot_be_exported_or_read(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    bob: dict[str, str],
    fake_connectors: FakeConnectors,
) -> None:
    # Bob's own connection: what he cannot reach is Ann's task.
    await connected(client, bob, fake_connectors, "trello_1")
    task = await new_task(client, ann)
    body = {"connection_id": "trello_1", "target": {"list_id": "L1"}}
    for method, suffix, json_body in (
        ("POST", "exports", body),
        ("GET", "links", None),
        ("GET", "history", None),
    ):
        response = await client.request(
            method, f"/v1/tasks/{task['id']}/{suffix}", headers=bob, json=json_body
        )
        assert response.status_code == 404, (suffix, response.text)
        assert response.json()["error"]["code"] == "task_not_found"


async def test_history_pages_pass_through(
    client: httpx.AsyncClient, ann: dict[str, str], task_core_requests: list[httpx.Request]
) -> None:
    task = await new_task(client, ann)
    for title in ("b", "c"):
        await client.patch(f"/v1/tasks/{task['id']}", headers=ann, json={"title": title})

    first = await client.get(f"/v1/tasks/{task['id']}/history", headers=ann, params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["version"] for e in page["items"]] == [3, 2]
    assert page["items"][0]["origin"] == "core"
    assert page["items"][0]["fields"]["title"] == "c"
    assert task_core_requests[-1].url.params["limit"] == "2"
    rest = await client.get(
        f"/v1/tasks/{task['id']}/history",
        headers=ann,
        params={"limit": 2, "cursor": page["next_cursor"]},
    )
    assert [e["version"] for e in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None


async def test_conflicts_are_the_callers_tenants_filterable_by_task(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    bob: dict[str, str],
    fake_task_core: FakeTaskCore,
    task_core_requests: list[httpx.Request],
) -> None:
    me = (await client.get("/v1/me", headers=ann)).json()
    fake_task_core.conflicts[me["tenant"]["id"]] = [
        conflict("t1", 3),
        conflict("t2", 2),
        conflict("t1", 1),
    ]

    everything = (await client.get("/v1/conflicts", headers=ann)).json()
    assert [c["id"] for c in everything["items"]] == ["c3", "c2", "c1"]
    assert everything["items"][0]["winner"] == "trello:c1"
    assert everything["items"][0]["policy"] == "latest_wins"
    assert task_core_requests[-1].url.path == f"/internal/v1/tenants/{me['tenant']['id']}/conflicts"

    mine = await client.get("/v1/conflicts", headers=ann, params={"task_id": "t1", "limit": 1})
    assert [c["id"] for c in mine.json()["items"]] == ["c3"]
    assert task_core_requests[-1].url.params["task_id"] == "t1"
    after = await client.get(
        "/v1/conflicts",
        headers=ann,
        params={"task_id": "t1", "limit": 1, "cursor": mine.json()["next_cursor"]},
    )
    assert [c["id"] for c in after.json()["items"]] == ["c1"]

    assert (await client.get("/v1/conflicts", headers=bob)).json()["items"] == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/conflicts?task_id=a%2Fb", "query.task_id"),
        ("/v1/conflicts?limit=0", "query.limit"),
        ("/v1/tasks/abc/history?limit=201", "query.limit"),
        ("/v1/tasks/-x/links", "path.task_id"),
    ],
)
async def test_bad_queries_are_422_and_never_reach_task_core(
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
    path: str,
    field: str,
) -> None:
    response = await client.get(path, headers=ann)
    assert response.status_code == 422
    assert field in [
        ".".join(str(p) for p in e["loc"]) for e in response.json()["error"]["details"]
    ]
    assert task_core_requests == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/tasks/abc/history", None),
        ("GET", "/v1/conflicts", None),
        ("POST", "/v1/tasks/abc/exports", {"connection_id": "asana_1", "target": {"p": "1"}}),
        ("GET", "/v1/tasks/abc/links", None),
    ],
)
async def test_task_core_down_is_503_for_these_too(
    start_gateway: StartGateway,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with start_gateway(httpx.MockTransport(refuse)) as client:
        await connected(client, headers, fake_connectors, "asana_1")
        response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"


async def test_a_409_other_than_already_exported_is_502(
    start_gateway: StartGateway, issue_token: IssueToken, fake_connectors: FakeConnectors
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}
    answer = httpx.Response(409, json={"error": {"code": "something_else", "message": "?"}})
    async with start_gateway(httpx.MockTransport(lambda _: answer)) as client:
        await connected(client, headers, fake_connectors, "trello_1")
        response = await client.post(
            "/v1/tasks/abc/exports",
            json={"connection_id": "trello_1", "target": {"list_id": "L"}},
            headers=headers,
        )
    assert response.status_code == 502
