"""``GET/PATCH /v1/me``: a person's time zone (an IANA name), their own or their tenant's
(UTC unless set), and every connector told when it changes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
import pytest

from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import set_tenant_time_zone
from api_gateway.config import GatewaySettings
from api_gateway.migrate import migrate
from tether_common.db import create_engine, session_factory, transaction
from tether_contracts.sync import Provider

IssueToken = Callable[[str, str], Awaitable[str]]


class FakeConnectors(Protocol):
    """What these tests use of conftest's fake connectors."""

    requests: list[tuple[Provider, httpx.Request]]
    unreachable: set[Provider]
    owner_zones: dict[tuple[Provider, str, str], str]


async def tenant_defaults_to(settings: GatewaySettings, tenant: str, zone: str) -> None:
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            await set_tenant_time_zone(AuthRepository(session), tenant, zone)
    finally:
        await engine.dispose()


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_user_has_the_tenants_zone_until_they_set_their_own(
    client: httpx.AsyncClient,
    issue_token: IssueToken,
    settings: GatewaySettings,
    fake_connectors: FakeConnectors,
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}
    first = await me(client, headers)
    assert (first["user"]["time_zone"], first["user"]["time_zone_is_own"]) == ("UTC", False)
    assert first["tenant"]["time_zone"] == "UTC"

    await tenant_defaults_to(settings, "acme", "Asia/Kathmandu")
    assert (await me(client, headers))["user"]["time_zone"] == "Asia/Kathmandu"

    patched = await client.patch("/v1/me", headers=headers, json={"time_zone": "Pacific/Auckland"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["user"]["time_zone"] == "Pacific/Auckland"
    mine = await me(client, headers)
    assert (mine["user"]["time_zone"], mine["user"]["time_zone_is_own"]) == (
        "Pacific/Auckland",
        True,
    )
    assert mine["tenant"]["time_zone"] == "Asia/Kathmandu"
    # Every connector keeps the zone with this person's connections.
    tenant, user = mine["tenant"]["id"], mine["user"]["id"]
    assert fake_connectors.owner_zones == {
        (p, tenant, user): "Pacific/Auckland" for p in ("trello", "asana", "jira")
    }

    back = await client.patch("/v1/me", headers=headers, json={"time_zone": None})
    assert back.json()["user"]["time_zone"] == "Asia/Kathmandu"
    assert fake_connectors.owner_zones[("trello", tenant, user)] == "Asia/Kathmandu"


@pytest.mark.parametrize(
    "body",
    [
        {"time_zone": "Mars/Olympus_Mons"},
        {"time_zone": "../../etc/passwd"},
        {"time_zone": "localtime"},
        {"time_zone": ""},
        {"time_zone": 5},
        {"time_zone": "UTC", "email": "eve@acme.test"},
    ],
)
async def test_a_zone_that_is_not_an_iana_name_is_a_422_naming_it(
    client: httpx.AsyncClient,
    issue_token: IssueToken,
    fake_connectors: FakeConnectors,
    body: dict[str, Any],
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}
    response = await client.patch("/v1/me", headers=headers, json=body)
    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["error"]["details"]]
    assert locs in (
        [["body", "time_zone"]],
        [["body", "email"]],
    ), locs
    assert (await me(client, headers))["user"]["time_zone"] == "UTC"
    assert fake_connectors.owner_zones == {}


async def test_an_unreachable_connector_is_a_503_and_the_zone_is_kept(
    client: httpx.AsyncClient, issue_token: IssueToken, fake_connectors: FakeConnectors
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}
    fake_connectors.unreachable.add("asana")
    response = await client.patch("/v1/me", headers=headers, json={"time_zone": "Pacific/Honolulu"})
    assert response.status_code == 503
    assert "asana" in response.json()["error"]["message"]
    assert (await me(client, headers))["user"]["time_zone"] == "Pacific/Honolulu"
    fake_connectors.unreachable.clear()
    again = await client.patch("/v1/me", headers=headers, json={"time_zone": "Pacific/Honolulu"})
    assert again.status_code == 200
    assert set(fake_connectors.owner_zones.values()) == {"Pacific/Honolulu"}


async def test_connecting_tells_the_connector_who_connects_and_their_zone(
    client: httpx.AsyncClient, issue_token: IssueToken, fake_connectors: FakeConnectors
) -> None:
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}
    await client.patch("/v1/me", headers=headers, json={"time_zone": "Pacific/Auckland"})
    await client.post("/v1/connections", headers=headers, json={"provider": "trello", "token": "t"})
    [(_, request)] = [
        (p, r) for p, r in fake_connectors.requests if r.url.path.endswith("/connections")
    ]
    user = (await me(client, headers))["user"]["id"]
    assert dict(request.url.params) == {"owner_id": user, "time_zone": "Pacific/Auckland"}
    assert json.loads(request.content) == {"token": "t"}
