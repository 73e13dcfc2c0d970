"""The connector store's migrations build exactly what tables.py declares, and run both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tether_common.db import create_engine
from tether_connector_runtime.store.migrate import (
    connector_alembic_config,
    migrate_connector,
    version_table,
)
from tether_connector_runtime.store.tables import connector_tables

PROVIDER = "mig"  # its own prefix: the shared test database also holds other stores' tables


async def _inspect(url: str) -> tuple[set[str], list[object]]:
    metadata = connector_tables(PROVIDER).metadata
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def look(sync_connection: object) -> tuple[set[str], list[object]]:
                names = {
                    n
                    for n in inspect(sync_connection).get_table_names()
                    if n.startswith(f"{PROVIDER}_")
                }
                context = MigrationContext.configure(
                    sync_connection,  # type: ignore[arg-type]
                    opts={
                        "version_table": version_table(PROVIDER),
                        "include_name": lambda name, kind, _parent: (
                            kind != "table" or str(name).startswith(f"{PROVIDER}_")
                        ),
                    },
                )
                return names, list(compare_metadata(context, metadata))

            return await connection.run_sync(look)
    finally:
        await engine.dispose()


async def migrations_run_both_ways(url: str) -> None:
    expected = {*connector_tables(PROVIDER).metadata.tables, version_table(PROVIDER)}
    await migrate_connector(url, PROVIDER)
    names, drift = await _inspect(url)
    assert names == expected
    assert drift == []

    await asyncio.to_thread(command.downgrade, connector_alembic_config(url, PROVIDER), "base")
    names, _ = await _inspect(url)
    assert names == {version_table(PROVIDER)}
    await migrate_connector(url, PROVIDER)
    names, drift = await _inspect(url)
    assert names == expected
    assert drift == []


async def test_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    await migrations_run_both_ways(f"sqlite+aiosqlite:///{tmp_path}/store.db")


@pytest.mark.integration
async def test_migrations_match_the_tables_on_postgresql(database_url: str) -> None:
    await migrations_run_both_ways(database_url)
