"""The embedded bus's log in an SQLite file, so that "accepted" survives ``kill -9``.

Two tables: ``bus_records`` (topic, position, value, headers), one row per record, positions
0, 1, 2, ... per topic; and ``bus_offsets`` (topic, group_id, committed), each consumer group's
committed offset. ``headers`` holds what a Kafka message's headers would (the trace context the
record was published in) as a JSON array of ``[name, value]`` pairs, NULL for none.

The file runs in WAL mode with ``synchronous=FULL``: an append or a commit returns only after
its transaction is on disk, so after a crash and a restart every group resumes from its
last commit and every appended record is still there (at-least-once, as with Kafka).

The file's ``user_version`` counts the schema changes applied to it (:data:`_MIGRATIONS`);
opening a file written by an older Tether applies the rest in place, and its records stay
readable (the ones from before the ``headers`` column have none).

One process owns a file: the store keeps each topic's end and each group's committed offset in
memory too (to wake consumers without polling the file), so records appended by another process
would go unnoticed until a restart.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tether_events.inprocess import LogRecord
from tether_events.trace_context import KafkaHeaders

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_records (
    topic TEXT NOT NULL,
    position INTEGER NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (topic, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_offsets (
    topic TEXT NOT NULL,
    group_id TEXT NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (topic, group_id)
) WITHOUT ROWID;
"""

# Each change to the tables above since the first files, in order; a file's ``user_version``
# is how many of them it has had. Appended to, never edited: files in the field are at every
# version.
_MIGRATIONS = (
    # 1: each record's headers (the trace context it was published in).
    "ALTER TABLE bus_records ADD COLUMN headers TEXT",
)


class SqliteLogStore:
    """A durable :class:`tether_events.inprocess.LogStore` in the SQLite file at ``path``
    (its directory is created if missing; the file and tables too).

    Opening reads the file's topic ends and committed offsets (blocking, once, at start-up).
    Each operation runs in a worker thread, one at a time on one connection. Call
    :meth:`close` when done. Errors of the file (``sqlite3.Error``: disk full, read-only,
    corrupt) propagate to the caller, so a failed append is never reported as accepted.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are exactly the ones opened below (BEGIN ...).
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # sqlite3 must not run two statements of one connection at once; worker threads vary.
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit returns after the WAL is synced, so an acknowledged append survives
        # a power cut too, not only a killed process.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        _migrate(self._db)
        ends = "SELECT topic, MAX(position) + 1 FROM bus_records GROUP BY topic"
        self._ends: dict[str, int] = dict(self._db.execute(ends).fetchall())
        offsets = "SELECT topic, group_id, committed FROM bus_offsets"
        self._committed: dict[tuple[str, str], int] = {
            (topic, group): committed
            for topic, group, committed in self._db.execute(offsets).fetchall()
        }
        self._appended = asyncio.Condition()
        self._writes: set[asyncio.Task[None]] = set()

    async def append(self, topic: str, *raws: bytes, headers: KafkaHeaders = ()) -> None:
        """Append ``raws`` to ``topic`` in one transaction, each with ``headers``; returns once
        it is on disk. Raises ``sqlite3.Error`` if the write failed (then nothing was
        appended)."""
        if not raws:
            return
        stored = _stored_headers(headers)

        async def write() -> None:
            end = await self._in_thread(lambda: self._insert(topic, raws, stored))
            async with self._appended:
                self._ends[topic] = max(self._ends.get(topic, 0), end)
                self._appended.notify_all()

        await self._shielded(write())

    async def read(self, topic: str, offset: int, limit: int) -> list[bytes]:
        """Up to ``limit`` records' values of ``topic`` from ``offset`` on, in order."""
        return [record.value for record in await self.read_records(topic, offset, limit)]

    async def read_records(self, topic: str, offset: int, limit: int) -> list[LogRecord]:
        """Up to ``limit`` records of ``topic`` from ``offset`` on, in order, with headers."""
        if offset >= self._ends.get(topic, 0):
            return []  # the common "caught up" check, answered without touching the file
        query = (
            "SELECT value, headers FROM bus_records WHERE topic = ? AND position >= ?"
            " ORDER BY position LIMIT ?"
        )
        rows = await self._in_thread(
            lambda: self._db.execute(query, (topic, offset, limit)).fetchall()
        )
        return [LogRecord(bytes(value), _read_headers(headers)) for value, headers in rows]

    async def committed(self, topic: str, group_id: str) -> int:
        """The offset ``group_id`` resumes ``topic`` from (0 if it never committed)."""
        return self._committed.get((topic, group_id), 0)

    async def commit(self, topic: str, group_id: str, offset: int) -> None:
        """Store ``offset`` as ``group_id``'s committed offset of ``topic`` if it is higher
        than the current one; returns once it is on disk."""
        key = (topic, group_id)
        if offset <= self._committed.get(key, 0):
            return
        upsert = (
            "INSERT INTO bus_offsets (topic, group_id, committed) VALUES (?, ?, ?)"
            " ON CONFLICT (topic, group_id) DO UPDATE"
            " SET committed = MAX(committed, excluded.committed)"
        )

        async def write() -> None:
            # One statement outside BEGIN: its own transaction, synced on commit.
            await self._in_thread(lambda: self._db.execute(upsert, (topic, group_id, offset)))
            self._committed[key] = max(self._committed.get(key, 0), offset)

        await self._shielded(write())

    async def wait_for_records(self, topics: Sequence[str], group_id: str) -> None:
        def pending() -> bool:
            return any(self._committed.get((t, group_id), 0) < self._ends.get(t, 0) for t in topics)

        async with self._appended:
            await self._appended.wait_for(pending)

    async def close(self) -> None:
        """Let writes under way finish, then close the file; the store is unusable after."""
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self._in_thread(self._db.close)

    def _insert(self, topic: str, raws: tuple[bytes, ...], headers: str | None) -> int:
        """Rows for ``raws`` after ``topic``'s last one, all in one transaction: the new end."""
        with self._db as db:  # commits, or rolls back if anything below raises
            db.execute("BEGIN IMMEDIATE")
            last = "SELECT COALESCE(MAX(position) + 1, 0) FROM bus_records WHERE topic = ?"
            (start,) = db.execute(last, (topic,)).fetchone()
            db.executemany(
                "INSERT INTO bus_records (topic, position, value, headers) VALUES (?, ?, ?, ?)",
                [(topic, start + i, raw, headers) for i, raw in enumerate(raws)],
            )
        return int(start) + len(raws)

    async def _in_thread(self, work: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return work()

        return await asyncio.to_thread(locked)

    async def _shielded(self, write: Coroutine[Any, Any, None]) -> None:
        # A write that reached the file must reach the in-memory view of it even if the
        # caller is cancelled meanwhile (a stopping consumer), or consumers would not be woken
        # and a commit would be forgotten until a restart. close() waits for these.
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        await asyncio.shield(task)


def _migrate(db: sqlite3.Connection) -> None:
    """Apply the :data:`_MIGRATIONS` the file has not had, in one transaction (a second
    process opening the file at once waits, then finds them applied). A file from a newer
    Tether is left as it is."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version >= len(_MIGRATIONS):
        return  # up to date: no write lock taken (``tether dlq`` opens a running one's file)
    with db:  # commits, or rolls back if anything below raises
        db.execute("BEGIN IMMEDIATE")
        (version,) = db.execute("PRAGMA user_version").fetchone()  # as of holding the lock
        for change in _MIGRATIONS[version:]:
            db.execute(change)
        if version < len(_MIGRATIONS):
            db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")


def _stored_headers(headers: KafkaHeaders) -> str | None:
    """``headers`` as the column keeps them: JSON ``[[name, value], ...]``, NULL for none.
    Values are bytes; bytes that are not UTF-8 are kept as escapes, so any value round-trips."""
    if not headers:
        return None
    pairs = [[name, value.decode("utf-8", "surrogateescape")] for name, value in headers]
    return json.dumps(pairs, separators=(",", ":"))


def _read_headers(stored: str | None) -> KafkaHeaders:
    """The headers :func:`_stored_headers` kept; none for NULL or a value that is not its
    shape (the record is delivered without them: a trace is worth less than the event)."""
    if not stored:
        return ()
    try:
        pairs = json.loads(stored)
    except ValueError:
        return ()
    if not isinstance(pairs, list) or not all(_is_header(pair) for pair in pairs):
        return ()
    return tuple((name, value.encode("utf-8", "surrogateescape")) for name, value in pairs)


def _is_header(pair: object) -> bool:
    return isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
