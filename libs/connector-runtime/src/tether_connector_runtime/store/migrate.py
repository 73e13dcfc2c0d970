"""A connector's schema migrations (Alembic), applied at start-up or by command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command

from tether_common.db import alembic_config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


async def migrate_connector(database_url: str, provider: str) -> None:
    config = alembic_config(MIGRATIONS_DIR, database_url, f"{provider}_alembic_version")
    config.set_main_option("table_prefix", provider)
    await asyncio.to_thread(command.upgrade, config, "head")
