"""The embedded bus's SQLite log keeps each record's headers (the trace context it was
published in), and a file written before it kept them still opens, with every record and
offset readable and delivered."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tether_events import CloudEvent, encode
from tether_events.inprocess import InProcessBus, LogRecord
from tether_events.sqlitelog import SqliteLogStore
from tether_events.testing import task_changed as event
from tether_events.trace_context import tracer

TOPIC = "ns.tether.task-changed.v1"
DEADLINE = 60.0

# The file as Tether wrote it before records had headers (its user_version is 0).
BEFORE_HEADERS = """
CREATE TABLE bus_records (
    topic TEXT NOT NULL,
    position INTEGER NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (topic, position)
) WITHOUT ROWID;
CREATE TABLE bus_offsets (
    topic TEXT NOT NULL,
    group_id TEXT NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (topic, group_id)
) WITHOUT ROWID;
"""


def old_file(path: Path, records: list[bytes], committed: int) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(BEFORE_HEADERS)
        db.executemany(
            "INSERT INTO bus_records (topic, position, value) VALUES (?, ?, ?)",
            [(TOPIC, n, raw) for n, raw in enumerate(records)],
        )
        db.execute("INSERT INTO bus_offsets VALUES (?, 'g', ?)", (TOPIC, committed))
    db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


async def test_headers_round_trip_through_the_file_any_bytes_included(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    headers = (("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),)
    odd = (("tracestate", b"v=\xff\x00\xc3(\xe2\x82"), ("x", b""))  # not UTF-8, empty
    store = SqliteLogStore(path)
    await store.append(TOPIC, b"one", headers=headers)
    await store.append(TOPIC, b"two", b"three", headers=odd)
    await store.append(TOPIC, b"four")
    await store.close()

    reopened = SqliteLogStore(path)
    try:
        assert await reopened.read_records(TOPIC, 0, 10) == [
            LogRecord(b"one", headers),
            LogRecord(b"two", odd),
            LogRecord(b"three", odd),
            LogRecord(b"four", ()),
        ]
        assert await reopened.read(TOPIC, 1, 2) == [b"two", b"three"]
    finally:
        await reopened.close()


async def test_a_file_from_before_headers_opens_and_delivers_every_record(
    tmp_path: Path, recorded_spans: InMemorySpanExporter
) -> None:
    path = tmp_path / "bus.db"
    before = [event("a", n) for n in range(1, 4)]
    old_file(path, [encode(e) for e in before], committed=1)
    assert user_version(path) == 0

    store = SqliteLogStore(path)
    try:
        assert user_version(path) == 1
        assert await store.read_records(TOPIC, 0, 10) == [LogRecord(encode(e), ()) for e in before]
        assert await store.committed(TOPIC, "g") == 1
        bus = InProcessBus(store)
        after = event("a", 4)
        with tracer().start_as_current_span("edit") as edit:
            await bus.publish(TOPIC, after)
        contexts: dict[str, trace.SpanContext] = {}
        all_in = asyncio.Event()

        async def handle(e: CloudEvent[Any]) -> None:
            contexts[e.id] = trace.get_current_span().get_span_context()
            if after.id in contexts:
                all_in.set()

        bus.subscribe([TOPIC], "g", handle)
        await bus.start()
        try:
            await asyncio.wait_for(all_in.wait(), DEADLINE)
        finally:
            await bus.stop()
    finally:
        await store.close()

    # The group resumed from its offset: the old records it had not handled came, each
    # in a trace of its own (they carry none), then the new one in the trace it was sent in.
    assert list(contexts) == [before[1].id, before[2].id, after.id]
    edit_trace = edit.get_span_context().trace_id
    assert contexts[after.id].trace_id == edit_trace
    assert all(contexts[e.id].trace_id != edit_trace for e in before[1:])
    # Opening again changes nothing more.
    await SqliteLogStore(path).close()
    assert user_version(path) == 1


async def test_unreadable_stored_headers_deliver_the_record_without_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bus.db"
    store = SqliteLogStore(path)
    await store.append(TOPIC, b"kept", headers=(("traceparent", b"00-ab-cd-01"),))
    await store.close()

    for stored in ("not json", '{"traceparent": "x"}', '[["only-a-name"]]', "[[1, 2]]"):
        db = sqlite3.connect(path)
        with db:
            db.execute("UPDATE bus_records SET headers = ?", (stored,))
        db.close()
        reopened = SqliteLogStore(path)
        try:
            assert await reopened.read_records(TOPIC, 0, 10) == [LogRecord(b"kept", ())]
        finally:
            await reopened.close()
