"""The connector's outbox, work parked per link for retries, the write under way on each
link, and broken connections.

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None

LINK_COLUMNS = (
    "target",
    "parked",
    "attempts",
    "next_attempt_at",
    "retry_until",
    "last_error",
    "intent",
)


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.create_table(
        f"{prefix}_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.add_column(f"{prefix}_connections", sa.Column("broken_since", UtcDateTime, nullable=True))
    links = f"{prefix}_links"
    op.add_column(links, sa.Column("target", sa.JSON, nullable=True))
    op.add_column(links, sa.Column("parked", sa.JSON, nullable=True))
    op.add_column(links, sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column(links, sa.Column("next_attempt_at", UtcDateTime, nullable=True))
    op.add_column(links, sa.Column("retry_until", UtcDateTime, nullable=True))
    op.add_column(links, sa.Column("last_error", sa.Text, nullable=True))
    op.add_column(links, sa.Column("intent", sa.JSON, nullable=True))
    op.create_index(f"ix_{prefix}_links_next_attempt_at", links, ["next_attempt_at"])


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    links = f"{prefix}_links"
    op.drop_index(f"ix_{prefix}_links_next_attempt_at", table_name=links)
    # SQLite drops columns by rebuilding the table: batch mode does that where needed.
    with op.batch_alter_table(links) as batch:
        for name in LINK_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.drop_column("broken_since")
    op.drop_table(f"{prefix}_outbox")
