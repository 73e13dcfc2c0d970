"""Disconnecting an account: the connection, its webhooks and its links' sync end on our side,
and only then is its grant revoked at the provider, best effort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import disconnect
from tether_connector_runtime.testing import (
    FakeProvider,
    ManualClock,
    OAuthFakeProvider,
    PipelineRig,
    pipeline_rig,
)
from tether_connector_runtime.testing.running_app import running_app
from tether_connector_runtime.testing.scenarios import BOARD, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import LinkChanged


@pytest.fixture
async def oauth_rig(tmp_path: Path) -> AsyncIterator[PipelineRig]:
    clock = ManualClock()
    fake = OAuthFakeProvider("trello", clock=clock)
    fake.add_container(BOARD)
    url = f"sqlite+aiosqlite:///{tmp_path}/connector.db"
    async with pipeline_rig(fake, url, clock=clock) as started:
        yield started


async def connection_row(rig: PipelineRig, connection_id: str) -> Any:
    async with transaction(rig.pipeline.sessions) as session:
        return await rig.pipeline.repo.connection(session, connection_id)


async def webhooks_of(rig: PipelineRig, model_id: str) -> list[Any]:
    async with transaction(rig.pipeline.sessions) as session:
        return await rig.pipeline.repo.webhooks_on(session, model_id)


async def test_the_grant_is_revoked_once_the_connection_is_gone_here(
    oauth_rig: PipelineRig,
) -> None:
    rig, fake = oauth_rig, oauth_rig.fake
    await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    row = await connection_row(rig, connection_id)
    held = fake.hold("revoke")
    removing = asyncio.create_task(disconnect.disconnect(rig.pipeline, row))
    await held.wait_reached()
    # At the provider's revoke, nothing of the connection is left on our side.
    assert await connection_row(rig, connection_id) is None
    assert await webhooks_of(rig, BOARD) == []
    assert (await rig.link("link-1")).status == "unlinked"
    held.release()
    await removing
    await rig.relay()

    assert isinstance(fake, OAuthFakeProvider)
    assert fake.revoked_grants == {"grant-tok-a"}
    unlinked = [e for e in rig.events(LinkChanged) if e.status == "unlinked"]
    assert [e.link_id for e in unlinked] == ["link-1"]


async def test_a_revoke_the_provider_refuses_leaves_the_disconnect_done(
    oauth_rig: PipelineRig,
) -> None:
    rig, fake = oauth_rig, oauth_rig.fake
    connection_id = await rig.connect("acme", "tok-a")
    fake.fail_next("revoke")
    await disconnect.disconnect(rig.pipeline, await connection_row(rig, connection_id))

    assert fake.calls["revoke"] == 1
    assert await connection_row(rig, connection_id) is None


async def test_an_adapter_that_cannot_revoke_is_disconnected_all_the_same(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    await disconnect.disconnect(rig.pipeline, await connection_row(rig, connection_id))
    assert await connection_row(rig, connection_id) is None
    assert fake.calls["revoke"] == 0


async def test_delete_on_the_internal_api_disconnects_only_the_tenants_own(
    tmp_path: Path,
) -> None:
    fake = OAuthFakeProvider("asana", clock=lambda: datetime.now(UTC))
    async with running_app(fake, tmp_path / "asana.db") as app:
        created = await app.api.post("/internal/v1/tenants/acme/connections", json={"token": "t"})
        connection_id = created.json()["id"]

        other = await app.api.delete(f"/internal/v1/tenants/globex/connections/{connection_id}")
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "connection_not_found"
        assert fake.calls["revoke"] == 0

        gone = await app.api.delete(f"/internal/v1/tenants/acme/connections/{connection_id}")
        assert gone.status_code == 204
        assert fake.revoked_grants == {"grant-t"}
        listed = await app.api.get("/internal/v1/tenants/acme/connections")
        assert listed.json() == []
