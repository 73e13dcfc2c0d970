"""Alembic environment of a connector: the shared runner over that provider's tables."""

from alembic import context

from tether_common.alembic_env import run_migrations
from tether_connector_runtime.store.tables import connector_tables

run_migrations(connector_tables(context.config.get_main_option("table_prefix") or "").metadata)
