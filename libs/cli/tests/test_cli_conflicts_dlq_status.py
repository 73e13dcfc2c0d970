"""``tether conflicts`` (task-core's SQLite database), ``tether dlq list/show`` (embedded
mode's event log) and ``tether status`` with its services down."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from task_core.migrate import migrate
from task_core.models import ConflictRecord
from task_core.repository import ConflictRepository
from tether_cli.main import app
from tether_common.db import create_engine, session_factory, transaction
from tether_connector_runtime.deadletter import DeadLetter
from tether_events.sqlitelog import SqliteLogStore
from tether_events.topics import Topic, topic_name

runner = CliRunner()


def conflict(task_id: str, field: str, minute: int) -> ConflictRecord:
    return ConflictRecord(
        tenant_id="acme",
        task_id=task_id,
        field=field,
        base_value="a",
        core_value="core",
        provider_value="trello",
        core_replica="core",
        provider_replica="trello:c1",
        winner="trello:c1",
        winning_value="trello",
        policy="latest_wins",
        resolved_at=datetime(2026, 1, 1, 12, minute, tzinfo=UTC),
    )


def test_conflicts_lists_task_cores_records_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'task-core.db'}"
    monkeypatch.setenv("TETHER_TASK_CORE_DATABASE_URL", url)

    async def record() -> None:
        await migrate(url)
        engine = create_engine(url)
        try:
            async with transaction(session_factory(engine)) as session:
                for c in (
                    conflict("t1", "title", 1),
                    conflict("t1", "due", 2),
                    conflict("t2", "title", 3),
                ):
                    ConflictRepository(session).add(c)
        finally:
            await engine.dispose()

    asyncio.run(record())
    result = runner.invoke(app, ["conflicts", "--task", "t1", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [
        (c["field"], c["core_value"], c["provider_value"], c["winner"], c["policy"]) for c in shown
    ] == [
        ("due", "core", "trello", "trello:c1", "latest_wins"),
        ("title", "core", "trello", "trello:c1", "latest_wins"),
    ]
    assert len(json.loads(runner.invoke(app, ["conflicts", "--json"]).stdout)) == 3
    assert "3 conflict(s)" in runner.invoke(app, ["conflicts"]).stdout


def test_conflicts_with_no_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TASK_CORE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    result = runner.invoke(app, ["conflicts"])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: task-core: no database at {tmp_path}/x.db (has the service run?)\n"
    )


def test_dlq_list_and_show_read_embedded_modes_event_log(tmp_path: Path) -> None:
    bus = tmp_path / "bus.db"
    event = {"specversion": "1.0", "id": "ev-1", "type": "tether.task-changed.v1", "subject": "t1"}
    letter = DeadLetter(
        original_topic="tether.task-changed.v1",
        original_event=event,
        error="ValueError: boom",
        attempts=5,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
        consumer="trello-connector.x",
    )

    async def park() -> None:
        store = SqliteLogStore(bus)
        try:
            await store.append(
                topic_name(Topic.DEAD_LETTER), letter.model_dump_json().encode(), b"\xff not json"
            )
        finally:
            await store.close()

    asyncio.run(park())
    listed = runner.invoke(app, ["dlq", "list", "--bus-file", str(bus), "--json"])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert [(r["id"], r["event_id"], r["consumer"]) for r in records] == [
        ("0:0", "ev-1", "trello-connector.x"),
        ("0:1", "-", None),
    ]
    assert records[1]["error"] == "undecodable message"
    for name in ("0:0", "ev-1"):
        shown = runner.invoke(app, ["dlq", "show", name, "--bus-file", str(bus)])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["event"] == event
    missing = runner.invoke(app, ["dlq", "show", "7:7", "--bus-file", str(bus)])
    assert (missing.exit_code, missing.stderr) == (
        1,
        "error: no parked event '7:7' (see `tether dlq list`)\n",
    )


def test_status_names_each_service_down_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unused_tcp_port: int
) -> None:
    closed = f"http://127.0.0.1:{unused_tcp_port}"
    monkeypatch.setenv("TETHER_GATEWAY_PORT", str(unused_tcp_port))
    for name in ("TASK_CORE", "TRELLO_CONNECTOR"):
        monkeypatch.setenv(f"TETHER_GATEWAY_{name}_URL", closed)
    for name in ("ASANA", "JIRA"):
        monkeypatch.setenv(f"TETHER_GATEWAY_{name}_CONNECTOR_URL", "")
    result = runner.invoke(app, ["status", "--no-lag", "--json"])
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert shown["healthy"] is False
    assert [(s["service"], s["live"]) for s in shown["services"]] == [
        ("api-gateway", False),
        ("task-core", False),
        ("trello-connector", False),
    ]
