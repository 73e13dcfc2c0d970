"""The hand-written migration creates exactly what the models describe, and runs both ways."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from task_core.config import TaskCoreSettings
from task_core.migrate import VERSION_TABLE, migrate, task_core_alembic_config
from task_core.models import Base
from tether_common.db import create_engine
from tether_sync import FieldStamp


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def drift(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"version_table": VERSION_TABLE}),
                    Base.metadata,
                )
            )
    finally:
        await engine.dispose()


async def migrations_run_both_ways(url: str) -> None:
    await migrate(url)
    await migrate(url)  # a no-op the second time
    assert await tables(url) == {*Base.metadata.tables, VERSION_TABLE}
    assert await drift(url) == []

    await asyncio.to_thread(command.downgrade, task_core_alembic_config(url), "base")
    assert await tables(url) == {VERSION_TABLE}
    await migrate(url)
    assert await tables(url) == {*Base.metadata.tables, VERSION_TABLE}


async def test_migrations_run_both_ways_on_sqlite(settings: TaskCoreSettings) -> None:
    await migrations_run_both_ways(settings.database_url)


def test_migrate_command_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # a sync URL, as people paste them
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    result = subprocess.run(
        [sys.executable, "-m", "task_core", "migrate"],
        env={**env, "TETHER_TASK_CORE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr
    aio_url = url.replace("sqlite://", "sqlite+aiosqlite://")
    assert asyncio.run(tables(aio_url)) == {*Base.metadata.tables, VERSION_TABLE}


@pytest.mark.integration
async def test_migrations_run_both_ways_on_postgresql(database_url: str) -> None:
    await migrations_run_both_ways(TaskCoreSettings(database_url=database_url).database_url)


async def test_existing_tasks_get_core_stamps_at_their_last_update(
    settings: TaskCoreSettings,
) -> None:
    url = settings.database_url
    await asyncio.to_thread(command.upgrade, task_core_alembic_config(url), "0001")
    updated = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO task_core_tasks (id, tenant_id, title, description, due_date, "
                    "completed, deleted, clock, version, created_at, updated_at) VALUES "
                    "('t1', 'acme', 'old', '', NULL, false, false, '{\"core\": 3}', 3, :at, :at)"
                ),
                {"at": updated},
            )
        await migrate(url)
        async with engine.connect() as connection:
            raw = (await connection.execute(text("SELECT stamps FROM task_core_tasks"))).scalar()
    finally:
        await engine.dispose()
    stamps: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    assert set(stamps) == {"title", "description", "due_date", "completed"}
    for stamp in stamps.values():
        assert FieldStamp.model_validate(stamp) == FieldStamp(replica="core", edited_at=updated)


@pytest.mark.integration
async def test_existing_tasks_get_core_stamps_on_postgresql(database_url: str) -> None:
    settings = TaskCoreSettings(database_url=database_url)
    await test_existing_tasks_get_core_stamps_at_their_last_update(settings)
