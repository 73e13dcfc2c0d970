"""A connection keeps who made it and their time zone (where a date-only due falls on an
instant-only provider): given when connecting, changed when the person's zone changes, and
handed to the adapter with every session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.testing import TEST_TOKEN_KEY, FakeProvider
from tether_events.inprocess import InProcessBus

CONNECTIONS = "/internal/v1/tenants/{tenant}/connections"


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("asana")
    provider.add_container("project-a")
    return provider


@pytest.fixture
async def api(tmp_path: Path, fake: FakeProvider) -> AsyncIterator[httpx.AsyncClient]:
    settings = ConnectorSettings(
        bus="inprocess",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/asana.db",
        token_encryption_key=TEST_TOKEN_KEY,
        public_url="http://tether.test",
        reconcile_interval=3600,
        retry_poll_interval=3600,
    )
    connector = create_connector_app("asana", settings, lambda http: fake, bus=InProcessBus())
    async with (
        connector.router.lifespan_context(connector),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=connector), base_url="http://tether.test"
        ) as client,
    ):
        yield client


async def connect(
    api: httpx.AsyncClient, tenant: str, token: str, **owner: str
) -> dict[str, object]:
    response = await api.post(
        CONNECTIONS.format(tenant=tenant), json={"token": token}, params=owner
    )
    assert response.status_code == 201, response.text
    made: dict[str, object] = response.json()
    return made


async def test_a_connection_keeps_its_owners_zone_and_hands_it_to_the_adapter(
    api: httpx.AsyncClient, fake: FakeProvider
) -> None:
    made = await connect(api, "acme", "tok-1", owner_id="ann", time_zone="Pacific/Auckland")
    assert made["time_zone"] == "Pacific/Auckland"
    targets = await api.get(f"{CONNECTIONS.format(tenant='acme')}/{made['id']}/targets")
    assert targets.status_code == 200, targets.text
    assert fake.owners[-1].zone == ZoneInfo("Pacific/Auckland")
    # An older gateway says nothing: UTC.
    plain = await connect(api, "acme", "tok-2")
    assert plain["time_zone"] == "UTC"


async def test_an_unknown_zone_is_a_422_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.post(
        CONNECTIONS.format(tenant="acme"),
        json={"token": "tok-1"},
        params={"owner_id": "ann", "time_zone": "Mars/Olympus_Mons"},
    )
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["loc"] == ["query", "time_zone"]


async def test_a_persons_new_zone_reaches_their_connections_only(
    api: httpx.AsyncClient, fake: FakeProvider
) -> None:
    mine = await connect(api, "acme", "tok-1", owner_id="ann", time_zone="Asia/Kathmandu")
    theirs = await connect(api, "acme", "tok-2", owner_id="bob", time_zone="Asia/Kathmandu")
    elsewhere = await connect(api, "other", "tok-3", owner_id="ann", time_zone="Asia/Kathmandu")
    moved = await api.put(
        "/internal/v1/tenants/acme/owners/ann/time-zone", json={"time_zone": "Pacific/Honolulu"}
    )
    assert moved.json() == {"connections": 1}
    listed = (await api.get(CONNECTIONS.format(tenant="acme"))).json()
    zones = {c["id"]: c["time_zone"] for c in listed}
    assert zones == {mine["id"]: "Pacific/Honolulu", theirs["id"]: "Asia/Kathmandu"}
    other = (await api.get(CONNECTIONS.format(tenant="other"))).json()
    assert [(c["id"], c["time_zone"]) for c in other] == [(elsewhere["id"], "Asia/Kathmandu")]
    refused = await api.put(
        "/internal/v1/tenants/acme/owners/ann/time-zone", json={"time_zone": "Nowhere"}
    )
    assert refused.status_code == 422
    # Connecting the same account again repairs it, now in its owner's current zone.
    again = await connect(api, "acme", "tok-1", owner_id="ann", time_zone="Europe/Paris")
    assert (again["id"], again["time_zone"]) == (mine["id"], "Europe/Paris")
