"""The connector store: migrations on both backends, link state round trip, idempotency, a
refused write kept apart from parked work's last error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tether_common.db import create_engine, session_factory, transaction
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.repository import ConnectorRepository, StoredLink
from tether_connector_runtime.store.tables import connector_tables
from tether_events.clock import VectorClock
from tether_sync import LinkState, TaskFields


def active_link(clock: int, fields: TaskFields) -> tuple[LinkState, StoredLink]:
    """Link ``l1`` of task ``t1`` on card ``c1``, active, its base ``fields`` at core ``clock``."""
    state = LinkState(
        link_id="l1",
        task_id="t1",
        replica="trello:c1",
        synced_clock=VectorClock({"core": clock}),
        synced_fields=fields,
    )
    link = StoredLink(
        "l1", "acme", "t1", "trello_x", "list1", "c1", "trello:c1", None, "active", state
    )
    return state, link


async def exercise(url: str) -> None:
    await migrate_connector(url, "trello")
    await migrate_connector(url, "trello")  # a second run finds nothing to do
    engine = create_engine(url)
    sessions = session_factory(engine)
    repo = ConnectorRepository(connector_tables("trello"))
    state, link = active_link(2, TaskFields(title="Plan", due=date(2026, 12, 1)))
    try:
        async with transaction(sessions) as session:
            await repo.save_link(session, link, state)
            assert await repo.first_delivery(session, "d1")
            assert not await repo.first_delivery(session, "d1")
            assert await repo.first_processing(session, "c", "e1")
            assert not await repo.first_processing(session, "c", "e1")
        async with transaction(sessions) as session:
            loaded = await repo.link_by_external_id(session, "c1")
            assert loaded is not None
            assert loaded.state == state
            assert [x.link_id for x in await repo.links_of_task(session, "t1")] == ["l1"]
            await repo.save_state(
                session, state.model_copy(update={"synced_clock": VectorClock({"core": 3})})
            )
        async with transaction(sessions) as session:
            again = await repo.link(session, "l1")
            assert again is not None
            assert again.state is not None
            assert again.state.synced_clock == VectorClock({"core": 3})
    finally:
        await engine.dispose()


async def exercise_refusals(url: str) -> None:
    await migrate_connector(url, "trello")
    engine = create_engine(url)
    sessions = session_factory(engine)
    repo = ConnectorRepository(connector_tables("trello"))
    state, link = active_link(1, TaskFields(title="Plan"))
    at = datetime(2026, 1, 1, tzinfo=UTC)

    async def stored() -> StoredLink:
        async with transaction(sessions) as session:
            found = await repo.link(session, "l1")
        assert found is not None
        return found

    try:
        async with transaction(sessions) as session:
            await repo.save_link(session, link, state)
            await repo.park(
                session, "l1", task={}, attempts=1, next_attempt_at=at, retry_until=at, error="503"
            )
            await repo.clear_refusal(session, "l1")  # parked work's error is not a refusal
        parked = await stored()
        assert (parked.refusal, parked.parked is not None) == (None, True)
        assert parked.parked is not None
        assert parked.parked.last_error == "503"

        async with transaction(sessions) as session:
            await repo.record_refusal(session, "l1", "400: no way to done")
        refused = await stored()
        assert (refused.refusal, refused.parked) == ("400: no way to done", None)

        async with transaction(sessions) as session:
            await repo.clear_refusal(session, "l1")
        assert (await stored()).refusal is None
    finally:
        await engine.dispose()


async def test_store_on_sqlite(tmp_path: Path) -> None:
    await exercise(f"sqlite+aiosqlite:///{tmp_path}/trello.db")
    await exercise_refusals(f"sqlite+aiosqlite:///{tmp_path}/refusals.db")


@pytest.mark.integration
async def test_store_on_postgresql(database_url: str) -> None:
    await exercise(database_url)


@pytest.mark.integration
async def test_refusals_on_postgresql(database_url: str) -> None:
    await exercise_refusals(database_url)
