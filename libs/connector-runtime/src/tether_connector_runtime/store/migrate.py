"""A connector's schema migrations (Alembic), applied at start-up or by command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from tether_common.db import alembic_config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def version_table(provider: str) -> str:
    return f"{provider}_alembic_version"


def connector_alembic_config(database_url: str, provider: str) -> Config:
    config = alembic_config(MIGRATIONS_DIR, database_url, version_table(provider))
    config.set_main_option("table_prefix", provider)
    return config


async def migrate_connector(database_url: str, provider: str) -> None:
    config = connector_alembic_config(database_url, provider)
    await asyncio.to_thread(command.upgrade, config, "head")
