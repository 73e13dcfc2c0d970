"""Reads from a PostgreSQL streaming replica, with read-your-writes kept by WAL positions.

A write's effect is on the replica once the replica has replayed the primary's WAL up to the
write's commit. So a writer notes the primary's WAL position (an LSN) after it commits; a read
that must see that write names the LSN, and the replica serves it only if
``pg_last_wal_replay_lsn()`` has reached it, else the primary does. LSNs are positions in one
log, comparable whichever process noted them: this holds across service replicas, which a
per-process "recently wrote" flag would not.

Two sources of such an LSN: the caller's own token (``X-Tether-Read-After``, which a write's
response carries), and the pins this process keeps per key (a tenant) for a while after a
write it made. A replica that cannot be reached, or that fails a read, hands the read to the
primary (logged, counted) and is left alone for a few seconds before it is tried again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from cachetools import TTLCache
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction

log = structlog.get_logger(__name__)

T = TypeVar("T")

READ_AFTER_HEADER = "X-Tether-Read-After"

DB_READS = Counter(
    "tether_db_reads_total",
    "Reads routed by the read-replica routing, by database and the server that served them",
    ["database", "target"],  # target: replica | primary
)
REPLICA_FALLBACKS = Counter(
    "tether_db_replica_fallbacks_total",
    "Reads meant for the replica that the primary served, by reason",
    # behind: the replica had not replayed a write the read must see; unavailable: it could
    # not be reached (or was left alone after that); failed: a read on it failed
    ["database", "reason"],
)

# What a replica that is down, or a read it cannot serve, raises (a domain error raised by
# the read itself, such as a not-found, is an answer and passes through).
_FAILURES = (OSError, TimeoutError, InterfaceError, DBAPIError)

_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


class InvalidLsn(ValueError):
    pass


def parse_lsn(value: str) -> int:
    """``"16/B374D848"`` (PostgreSQL's ``pg_lsn`` text) as one comparable integer; raises
    :class:`InvalidLsn` for anything else."""
    value = value.strip()
    if not _LSN.match(value):
        raise InvalidLsn(f"not a WAL position (such as 0/16B3748): {value[:40]!r}")
    high, low = value.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class LsnPins:
    """The last write's LSN per key, kept ``seconds`` (at most ``size`` keys, the least
    recently written dropped first). Reads of a pinned key must see its write."""

    def __init__(
        self, seconds: float, *, size: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pins: TTLCache[str, int] = TTLCache(maxsize=size, ttl=seconds, timer=clock)

    def note(self, key: str, lsn: int) -> None:
        # Positions only move forward: an older token noted late must not lower the pin.
        self._pins[key] = max(lsn, self._pins.get(key, 0))

    def get(self, key: str) -> int | None:
        pinned: int | None = self._pins.get(key)
        return pinned

    def __len__(self) -> int:
        return len(self._pins)


class ReadRouting:
    """Where one database's reads go: the replica when it has what the read must see.

    ``replica`` None: every read and write goes to the primary, and no LSN is ever taken
    (SQLite and single-server deployments pay nothing). ``database``: the metrics' label.
    ``pin_seconds``: how long after a write of a key its reads wait for the replica to have
    it. ``retry_after``: seconds an unreachable replica is left alone.
    """

    def __init__(
        self,
        primary: async_sessionmaker[AsyncSession],
        replica: async_sessionmaker[AsyncSession] | None,
        *,
        database: str,
        pin_seconds: float,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.pins = LsnPins(pin_seconds, clock=clock)
        self._database = database
        self._retry_after = retry_after
        self._clock = clock
        self._replica_down_until = 0.0

    async def wrote(self, key: str) -> int | None:
        """After a committed write of ``key``: the primary's WAL insert position now (at or
        past the commit record), pinned for ``key``; None without a replica (nothing to wait
        for)."""
        if self.replica is None:
            return None
        # The insert position, not the write position: with synchronous_commit off a commit
        # returns before its WAL is written, and the write position can still be short of it.
        async with transaction(self.primary) as session:
            position = await session.scalar(text("SELECT pg_current_wal_insert_lsn()::text"))
        lsn = parse_lsn(str(position))
        self.pins.note(key, lsn)
        return lsn

    async def read(
        self,
        key: str,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        after: int | None = None,
    ) -> T:
        """``work`` in a transaction on the replica if it has replayed ``after`` and ``key``'s
        pin, else (or if the replica fails) on the primary. ``work`` must only read: it may
        run twice (on the replica, then on the primary)."""
        if self.replica is None:
            return await self._on_primary(work)
        if self._clock() < self._replica_down_until:
            REPLICA_FALLBACKS.labels(self._database, "unavailable").inc()
            return await self._on_primary(work)
        needed = max(after or 0, self.pins.get(key) or 0) or None
        try:
            async with transaction(self.replica) as session:
                if needed is not None and not await self._has_replayed(session, needed):
                    behind = True
                else:
                    behind = False
                    result = await self._served("replica", work, session)
        except _FAILURES as exc:
            return await self._after_failure(exc, work)
        if behind:
            REPLICA_FALLBACKS.labels(self._database, "behind").inc()
            return await self._on_primary(work)
        return result

    async def _served(
        self, target: str, work: Callable[[AsyncSession], Awaitable[T]], session: AsyncSession
    ) -> T:
        """``work``'s answer, counted as served by ``target``: a not-found is an answer too;
        a database failure is not."""
        try:
            result = await work(session)
        except _FAILURES:
            raise
        except Exception:
            DB_READS.labels(self._database, target).inc()
            raise
        DB_READS.labels(self._database, target).inc()
        return result

    async def _has_replayed(self, session: AsyncSession, lsn: int) -> bool:
        # NULL when the server is not in recovery (no standby): then it cannot vouch.
        replayed = await session.scalar(text("SELECT pg_last_wal_replay_lsn()::text"))
        return replayed is not None and parse_lsn(str(replayed)) >= lsn

    async def _after_failure(
        self, exc: BaseException, work: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        # A connection that could not be made (or was lost) means the replica is down: leave
        # it alone a while. Any other failure (a query cancelled by a conflict with recovery,
        # say) falls back for this read only; a read that is wrong fails again on the primary.
        unreachable = isinstance(exc, (OSError, TimeoutError, InterfaceError)) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        )
        if unreachable:
            self._replica_down_until = self._clock() + self._retry_after
        reason = "unavailable" if unreachable else "failed"
        log.warning(
            "read_replica_fallback",
            database=self._database,
            reason=reason,
            error=type(exc).__name__,
            retry_in=self._retry_after if unreachable else 0,
        )
        REPLICA_FALLBACKS.labels(self._database, reason).inc()
        return await self._on_primary(work)

    async def on_primary(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work`` on the primary, whatever the replica has (e.g. a miss that a write made
        a moment ago may explain)."""
        return await self._on_primary(work)

    async def _on_primary(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with transaction(self.primary) as session:
            return await self._served("primary", work, session)
