"""The same schema, tokens and tenant scoping on a real PostgreSQL server."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from alembic import command
from sqlalchemy import inspect
from typer.testing import CliRunner, Result

from api_gateway.auth.models import Base
from api_gateway.cli import token_app
from api_gateway.config import GatewaySettings
from api_gateway.migrate import VERSION_TABLE, gateway_alembic_config, migrate
from tether_common.db import create_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str) -> GatewaySettings:
    # Overrides the SQLite settings of conftest.py: every fixture built on it now uses PostgreSQL.
    return GatewaySettings(
        database_url=database_url, task_core_url="http://task-core.test", task_core_timeout=2.0
    )


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def cli(settings: GatewaySettings, *args: str) -> Result:
    # CliRunner (and the command's asyncio.run) need a thread without a running event loop.
    return await asyncio.to_thread(
        CliRunner().invoke,
        token_app,
        list(args),
        env={"TETHER_GATEWAY_DATABASE_URL": settings.database_url},
    )


async def test_migrations_run_both_ways(settings: GatewaySettings) -> None:
    url = settings.database_url
    await migrate(url)
    await migrate(url)
    assert await tables(url) == {*Base.metadata.tables, VERSION_TABLE}

    await asyncio.to_thread(command.downgrade, gateway_alembic_config(url), "base")
    assert await tables(url) == {VERSION_TABLE}
    await migrate(url)
    assert await tables(url) == {*Base.metadata.tables, VERSION_TABLE}


async def test_schema_matches_the_models(settings: GatewaySettings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"version_table": VERSION_TABLE}),
                    Base.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert drift == []


async def test_cli_tokens_authenticate_and_scope_by_tenant(
    settings: GatewaySettings, client: httpx.AsyncClient
) -> None:
    minted = await cli(settings, "create", "--tenant", "acme", "--email", "ann@acme.test")
    assert minted.exit_code == 0, minted.output
    ann = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    other = await cli(settings, "create", "--tenant", "globex", "--email", "bob@globex.test")
    bob = {"Authorization": f"Bearer {other.stdout.strip()}"}

    me = await client.get("/v1/me", headers=ann)
    assert me.status_code == 200
    assert me.json()["tenant"]["name"] == "acme"
    task = (await client.post("/v1/tasks", headers=ann, json={"title": "pg"})).json()
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=bob)).status_code == 404
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=ann)).status_code == 200

    revoked = await cli(settings, "revoke", "--prefix", minted.stdout.strip()[:12])
    assert revoked.exit_code == 0, revoked.output
    assert (await client.get("/v1/me", headers=ann)).status_code == 401
    assert (await client.get("/v1/me", headers=bob)).status_code == 200
