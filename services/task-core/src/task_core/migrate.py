"""Task-core's schema migrations (Alembic), applied at start-up or by command."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from tether_common.db import alembic_config, upgrade_database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Our own version table, so services sharing one database never read each other's revision.
VERSION_TABLE = "task_core_alembic_version"


def task_core_alembic_config(database_url: str) -> Config:
    return alembic_config(MIGRATIONS_DIR, database_url, VERSION_TABLE)


async def migrate(database_url: str) -> None:
    """Bring the database to the latest revision; a no-op when it is already there."""
    await upgrade_database(MIGRATIONS_DIR, database_url, VERSION_TABLE)
