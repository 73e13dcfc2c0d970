"""The body of every service's Alembic ``env.py``: online migrations over an async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from tether_common.db import create_engine, is_sqlite


def run_migrations(metadata: MetaData) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    version_table = config.get_main_option("version_table") or "alembic_version"

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
            render_as_batch=is_sqlite(url),
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together would race to create the same tables; the
                # transaction-scoped lock makes the second wait and then find nothing to do.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": version_table}
                )
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
