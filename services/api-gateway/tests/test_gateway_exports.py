"""An export is answered at once: its connection is checked with its connector before
task-core hears of it, so a refused export registers nothing and leaves no pending link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

import httpx
import pytest

from api_gateway.config import GatewaySettings
from tether_contracts.connections import ConnectionOut
from tether_contracts.sync import LinkOut

IssueToken = Callable[[str, str], Awaitable[str]]
StartGateway = Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]
Provider = Literal["trello", "asana", "jira"]


class FakeTaskCore(Protocol):
    """What these tests use of conftest's fake task-core."""

    links: dict[str, list[LinkOut]]

    def handle(self, request: httpx.Request) -> httpx.Response: ...


class FakeConnectors(Protocol):
    """What these tests use of conftest's fake connectors."""

    requests: list[tuple[Provider, httpx.Request]]
    unreachable: set[Provider]

    def add(
        self,
        tenant_id: str,
        connection_id: str,
        *,
        status: Literal["active", "broken"] = "active",
        error: str | None = None,
    ) -> ConnectionOut: ...


class Api:
    """The gateway as one tenant's client sees it, with the tenant's id at hand."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], tenant_id: str) -> None:
        self.client = client
        self.headers = headers
        self.tenant_id = tenant_id

    async def new_task(self) -> str:
        created = await self.client.post("/v1/tasks", headers=self.headers, json={"title": "Plan"})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def export(self, task_id: str, connection_id: str) -> httpx.Response:
        body = {"connection_id": connection_id, "target": {"list_id": "L1"}}
        return await self.client.post(
            f"/v1/tasks/{task_id}/exports", headers=self.headers, json=body
        )


async def as_tenant(client: httpx.AsyncClient, issue_token: IssueToken, tenant: str) -> Api:
    headers = {"Authorization": f"Bearer {await issue_token(tenant, f'ann@{tenant}.test')}"}
    me = (await client.get("/v1/me", headers=headers)).json()
    return Api(client, headers, me["tenant"]["id"])


@pytest.fixture
async def gateway(
    start_gateway: StartGateway, fake_task_core: FakeTaskCore
) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway(httpx.MockTransport(fake_task_core.handle)) as client:
        yield client


def links_posted(task_core_requests: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in task_core_requests if r.method == "POST" and r.url.path.endswith("/links")]


async def test_the_connection_is_asked_for_under_the_callers_tenant_first(
    gateway: httpx.AsyncClient,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    task_core_requests: list[httpx.Request],
) -> None:
    ann = await as_tenant(gateway, issue_token, "acme")
    fake_connectors.add(ann.tenant_id, "trello_9f2c")
    task_id = await ann.new_task()

    exported = await ann.export(task_id, "trello_9f2c")

    assert exported.status_code == 202, exported.text
    assert [(p, r.method, r.url.path) for p, r in fake_connectors.requests] == [
        ("trello", "GET", f"/internal/v1/tenants/{ann.tenant_id}/connections/trello_9f2c")
    ]
    assert len(links_posted(task_core_requests)) == 1


@pytest.mark.parametrize("owner", ["another tenant", "nobody"])
async def test_a_connection_that_is_not_the_callers_is_not_found(
    gateway: httpx.AsyncClient,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    fake_task_core: FakeTaskCore,
    task_core_requests: list[httpx.Request],
    owner: str,
) -> None:
    ann = await as_tenant(gateway, issue_token, "acme")
    if owner == "another tenant":
        bob = await as_tenant(gateway, issue_token, "globex")
        fake_connectors.add(bob.tenant_id, "trello_b0b")
    task_id = await ann.new_task()
    asked_before = len(task_core_requests)

    refused = await ann.export(task_id, "trello_b0b")

    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "connection_not_found"
    assert len(task_core_requests) == asked_before  # task-core never heard of it
    assert fake_task_core.links.get(task_id, []) == []


async def test_a_broken_connection_is_refused_with_its_reason(
    gateway: httpx.AsyncClient,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    task_core_requests: list[httpx.Request],
) -> None:
    ann = await as_tenant(gateway, issue_token, "acme")
    fake_connectors.add(ann.tenant_id, "asana_77", status="broken", error="token revoked")
    task_id = await ann.new_task()
    asked_before = len(task_core_requests)

    refused = await ann.export(task_id, "asana_77")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "connection_broken"
    assert "token revoked" in error["message"]
    assert "reconnect" in error["message"]
    assert len(task_core_requests) == asked_before


async def test_a_provider_without_a_connector_is_a_422_naming_the_connection(
    settings: GatewaySettings,
    start_gateway: StartGateway,
    fake_task_core: FakeTaskCore,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    task_core_requests: list[httpx.Request],
) -> None:
    settings.jira_connector_url = None
    async with start_gateway(httpx.MockTransport(fake_task_core.handle)) as gateway:
        ann = await as_tenant(gateway, issue_token, "acme")
        task_id = await ann.new_task()
        asked_before = len(task_core_requests)
        refused = await ann.export(task_id, "jira_acme")

    assert refused.status_code == 422
    [detail] = refused.json()["error"]["details"]
    assert detail["loc"] == ["body", "connection_id"]
    assert "no Jira connector" in detail["message"]
    assert len(task_core_requests) == asked_before
    assert fake_connectors.requests == []


async def test_an_unreachable_connector_is_a_503_and_registers_nothing(
    gateway: httpx.AsyncClient,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    task_core_requests: list[httpx.Request],
) -> None:
    ann = await as_tenant(gateway, issue_token, "acme")
    fake_connectors.add(ann.tenant_id, "trello_9f2c")
    fake_connectors.unreachable.add("trello")
    task_id = await ann.new_task()
    asked_before = len(task_core_requests)

    refused = await ann.export(task_id, "trello_9f2c")

    assert refused.status_code == 503
    error: dict[str, Any] = refused.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert "trello connector is unreachable" in error["message"]
    assert len(task_core_requests) == asked_before
