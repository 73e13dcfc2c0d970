"""Replaying a parked (dead-letter) event from the dashboard, only of the session's tenant."""

from __future__ import annotations

import httpx

from .browsing import csrf_of
from .fakes import OperatorFakeConnectors


async def test_replay_asks_the_connector_for_the_tenants_record(
    client: httpx.AsyncClient, world: dict[str, str], fake_connectors: OperatorFakeConnectors
) -> None:
    page = await client.get("/dashboard")
    answer = await client.post(
        "/dashboard/dead-letters/trello/0:0/replay", data={"csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303
    assert "Replayed+event+event-0%3A0" in answer.headers["location"]
    assert fake_connectors.replayed == [(world["acme_id"], "0:0")]
    # globex's record (0:1) is not acme's to replay.
    refused = await client.post(
        "/dashboard/dead-letters/trello/0:1/replay", data={"csrf": csrf_of(page.text)}
    )
    assert "problem=" in refused.headers["location"]
    assert fake_connectors.replayed == [(world["acme_id"], "0:0")]
