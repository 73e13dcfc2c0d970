"""Connections, links, webhooks, deliveries, processed events and cursors of one provider.

Revision ID: c0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import context, op

from tether_connector_runtime.store.tables import connector_tables

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The first revision creates the tables from their one declaration (tables.py). The day
    # tables.py changes, copy today's declaration in here first to freeze this revision, then
    # add a revision with explicit operations.
    bind = op.get_bind()
    prefix = context.config.get_main_option("table_prefix") or ""
    connector_tables(prefix).metadata.create_all(bind)


def downgrade() -> None:
    bind = op.get_bind()
    prefix = context.config.get_main_option("table_prefix") or ""
    connector_tables(prefix).metadata.drop_all(bind)
