"""Connections know who made them and that person's time zone (where a date-only due falls
on a provider whose due is an instant); a consent flow in progress carries the zone too.

Existing connections get NULL, read as UTC: what every date-only due was written in so far
was noon UTC, which the Trello mapping still reads back as that date in UTC.

Revision ID: c0005
Revises: c0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "c0005"
down_revision = "c0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    connections = f"{prefix}_connections"
    op.add_column(connections, sa.Column("owner_id", sa.String(64), nullable=True))
    op.add_column(connections, sa.Column("time_zone", sa.String(64), nullable=True))
    pending = f"{prefix}_pending_authorizations"
    op.add_column(pending, sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    # SQLite drops columns by rebuilding the table: batch mode does that where needed.
    with op.batch_alter_table(f"{prefix}_pending_authorizations") as batch:
        batch.drop_column("time_zone")
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("owner_id")
