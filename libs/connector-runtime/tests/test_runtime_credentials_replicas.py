"""Two replicas (two pipelines, each with its own engine and its own process lock) renewing
the same connection's credentials at once on real PostgreSQL: the connection's row lock makes
one of them wait and then find the token renewed, so the provider is asked once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from tether_common.db import transaction
from tether_connector_runtime.testing import (
    ManualClock,
    OAuthFakeProvider,
    PipelineRig,
    pipeline_rig,
)

pytestmark = pytest.mark.integration

HOUR = 3600.0


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[PipelineRig, PipelineRig]]:
    clock = ManualClock()
    fake = OAuthFakeProvider("trello", clock=clock, lifetime=HOUR)
    async with (
        pipeline_rig(fake, database_url, clock=clock) as one,
        pipeline_rig(fake, database_url, clock=clock, migrate=False) as two,
    ):
        yield one, two


async def opened(rig: PipelineRig, connection_id: str) -> Any:
    row, _ = await rig.pipeline.connections.current(connection_id)
    return row


async def lock_waiters(rig: PipelineRig) -> int:
    """Backends of this database waiting for a lock another transaction holds."""
    async with transaction(rig.pipeline.sessions) as session:
        found = await session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def until_blocked_or(rig: PipelineRig, second_renewal: asyncio.Event) -> None:
    """Until the second replica waits on the row lock, or reached the provider itself.
    PostgreSQL tells no one when a backend starts waiting: polled, with a deadline that only
    guards against a hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not second_renewal.is_set() and await lock_waiters(rig) == 0:
        assert loop.time() < deadline, "the second replica neither waited nor renewed"
        await asyncio.sleep(0.01)


async def test_two_replicas_renewing_at_once_ask_the_provider_once(
    replicas: tuple[PipelineRig, PipelineRig],
) -> None:
    one, two = replicas
    fake = one.fake
    assert isinstance(fake, OAuthFakeProvider)
    connection_id = await one.connect("acme", "tok-a")
    one.clock.advance(HOUR - 10)
    first, second = fake.hold("refresh"), fake.hold("refresh")

    renewing = asyncio.create_task(opened(one, connection_id))
    await first.wait_reached()  # replica one holds the row, inside the provider's call
    waiting = asyncio.create_task(opened(two, connection_id))
    await until_blocked_or(one, second.reached)
    first.release()
    second.release()
    fake.cancel(second)
    rows = await asyncio.gather(renewing, waiting)

    assert fake.calls["refresh"] == 1
    assert {one.pipeline.connections.decrypt(r.token_encrypted) for r in rows} == {"grant-tok-a:1"}
