"""A replica that cannot be reached: reads go to the primary, and the replica is left alone
for a while before it is tried again (a fake clock moves time)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from tether_common.db import create_engine, session_factory
from tether_common.read_replica import ReadRouting

DATABASE = "test-fallback"


def fallbacks() -> float:
    labels = {"database": DATABASE, "reason": "unavailable"}
    return REGISTRY.get_sample_value("tether_db_replica_fallbacks_total", labels) or 0.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def routing(tmp_path: Path) -> AsyncIterator[tuple[ReadRouting, list[float]]]:
    now = [0.0]
    primary = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'primary.db'}")
    down = create_engine(f"postgresql+asyncpg://tether@127.0.0.1:{closed_port()}/tether")
    try:
        yield (
            ReadRouting(
                session_factory(primary),
                session_factory(down),
                database=DATABASE,
                pin_seconds=30,
                retry_after=5.0,
                clock=lambda: now[0],
            ),
            now,
        )
    finally:
        await down.dispose()
        await primary.dispose()


async def answer(session: AsyncSession) -> int:
    return int((await session.scalar(text("SELECT 42"))) or 0)


async def test_an_unreachable_replica_is_left_alone_then_tried_again(
    routing: tuple[ReadRouting, list[float]],
) -> None:
    reads, now = routing
    before = fallbacks()
    with capture_logs() as logs:
        assert await reads.read("acme", answer) == 42
    assert [e["reason"] for e in logs if e["event"] == "read_replica_fallback"] == ["unavailable"]

    now[0] = 4.9  # within retry_after: straight to the primary, no new attempt, no log line
    with capture_logs() as logs:
        assert await reads.read("acme", answer) == 42
    assert not [e for e in logs if e["event"] == "read_replica_fallback"]

    now[0] = 5.1  # tried again (and still down)
    with capture_logs() as logs:
        assert await reads.read("acme", answer) == 42
    assert [e["reason"] for e in logs if e["event"] == "read_replica_fallback"] == ["unavailable"]
    assert fallbacks() == before + 3
