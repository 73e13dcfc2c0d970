"""Deletions seen per connection (the burst guard's memory and its held deletions), each
connection's approval window, and its optional list-to-completion mapping.

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.create_table(
        f"{prefix}_deletions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("link_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("link_id", "direction", name=f"uq_{prefix}_deletions_link"),
    )
    op.create_index(
        f"ix_{prefix}_deletions_connection", f"{prefix}_deletions", ["connection_id", "at"]
    )
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.add_column(sa.Column("deletions_approved_until", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("list_mapping", sa.JSON, nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.drop_column("list_mapping")
        batch.drop_column("deletions_approved_until")
    op.drop_index(f"ix_{prefix}_deletions_connection", table_name=f"{prefix}_deletions")
    op.drop_table(f"{prefix}_deletions")
