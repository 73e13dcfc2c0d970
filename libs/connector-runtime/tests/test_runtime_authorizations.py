"""Pending authorizations are claimed once, even by concurrent claims, and expire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tether_common.db import create_engine, session_factory, transaction
from tether_connector_runtime.store.authorizations import (
    PendingAuthorization,
    PendingAuthorizations,
)
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.tables import connector_tables

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def pending(state: str, *, expires_in: timedelta = timedelta(minutes=10)) -> PendingAuthorization:
    return PendingAuthorization(
        state=state,
        tenant_id="acme",
        user_id="u1",
        secret_encrypted="ciphertext",
        created_at=NOW,
        expires_at=NOW + expires_in,
    )


async def exercise(url: str, *, concurrent: bool) -> None:
    await migrate_connector(url, "trello")
    engine = create_engine(url)
    sessions = session_factory(engine)
    store = PendingAuthorizations(connector_tables("trello").pending_authorizations)
    try:
        async with transaction(sessions) as session:
            await store.add(session, pending("req-1"))
            await store.add(session, pending("req-old", expires_in=timedelta(minutes=-1)))
        async with transaction(sessions) as session:
            claimed = await store.claim(session, "req-1")
        assert claimed == pending("req-1")
        assert not claimed.expired(NOW)
        assert claimed.expired(NOW + timedelta(minutes=10))
        async with transaction(sessions) as session:
            assert await store.claim(session, "req-1") is None  # single use
            assert await store.claim(session, "never-issued") is None
            assert await store.purge_expired(session, NOW) == 1
            assert await store.claim(session, "req-old") is None

        if concurrent:
            async with transaction(sessions) as session:
                await store.add(session, pending("req-2"))

            async def claim() -> PendingAuthorization | None:
                async with transaction(sessions) as session:
                    return await store.claim(session, "req-2")

            results = await asyncio.gather(*(claim() for _ in range(4)))
            assert sum(r is not None for r in results) == 1
    finally:
        await engine.dispose()


async def test_claims_on_sqlite(tmp_path: Path) -> None:
    await exercise(f"sqlite+aiosqlite:///{tmp_path}/trello.db", concurrent=False)


@pytest.mark.integration
async def test_concurrent_claims_on_postgresql(database_url: str) -> None:
    await exercise(database_url, concurrent=True)
