"""Driving the test replica: pause and resume its replay, wait for it to catch up, and
the read-routing metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

DEADLINE = 60.0


async def _connect(url: str) -> asyncpg.Connection:
    where = make_url(url)
    return await asyncpg.connect(
        host=where.host, port=where.port, user=where.username, database=where.database
    )


async def _eventually(check: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE:.0f}s: {what}")
        await asyncio.sleep(0.05)


async def caught_up(primary_url: str, replica_url: str) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    primary, replica = await _connect(primary_url), await _connect(replica_url)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")

        async def replayed() -> bool:
            return bool(
                await replica.fetchval(
                    "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", target
                )
            )

        await _eventually(replayed, f"the replica replays up to {target}")
    finally:
        await primary.close()
        await replica.close()


async def pause_replay(replica_url: str) -> None:
    """Stop the replica applying the WAL it receives: from now on it lags, deterministically."""
    replica = await _connect(replica_url)
    try:
        await replica.execute("SELECT pg_wal_replay_pause()")

        async def paused() -> bool:
            state = await replica.fetchval("SELECT pg_get_wal_replay_pause_state()")
            return bool(state == "paused")

        await _eventually(paused, "replay pauses")
    finally:
        await replica.close()


def reads(database: str, target: str) -> float:
    labels = {"database": database, "target": target}
    return REGISTRY.get_sample_value("tether_db_reads_total", labels) or 0.0


def fallbacks(database: str, reason: str) -> float:
    labels = {"database": database, "reason": reason}
    return REGISTRY.get_sample_value("tether_db_replica_fallbacks_total", labels) or 0.0


class Counts:
    """The read-routing counters now; ``since()`` gives what happened after."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        return {
            "replica": reads(self.database, "replica"),
            "primary": reads(self.database, "primary"),
            "behind": fallbacks(self.database, "behind"),
            "unavailable": fallbacks(self.database, "unavailable"),
            "failed": fallbacks(self.database, "failed"),
        }

    def since(self) -> dict[str, float]:
        now = self._now()
        return {k: now[k] - self.start[k] for k in now if now[k] != self.start[k]}


class LoadBalancer(httpx.AsyncBaseTransport):
    """Two task-core replicas behind one address: writes reach one, reads the other (the
    worst case for read-your-writes: the reader never saw the write)."""

    def __init__(self, writer: httpx.AsyncBaseTransport, reader: httpx.AsyncBaseTransport):
        self._writer, self._reader = writer, reader

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._reader if request.method == "GET" else self._writer
        return await target.handle_async_request(request)


@asynccontextmanager
async def serving(app: Any, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app with its lifespan, and a client of it."""
    from asgi_lifespan import LifespanManager

    async with (
        LifespanManager(app, startup_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url=base_url
        ) as client,
    ):
        yield client


def header(response: httpx.Response, name: str) -> dict[str, str]:
    value = response.headers.get(name)
    assert value is not None, f"{response.request.method} {response.url} answered no {name}"
    return {name: value}
