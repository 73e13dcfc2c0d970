"""The hand-written migration creates exactly what the models describe, and runs both ways."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from task_core.config import TaskCoreSettings
from task_core.migrate import VERSION_TABLE, migrate, task_core_alembic_config
from task_core.models import Base
from tether_common.db import create_engine


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
