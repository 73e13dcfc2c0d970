"""Outbox rows keep the trace context of the change that wrote them.

The relay publishes a row after the webhook (or the handling of an event) that wrote it has
ended; with the context kept beside the row, the event still joins that change's trace
(``tether_events.trace_context``). NULL when tracing is off, and for rows written before.

Revision ID: c0011
Revises: c0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "c0011"
down_revision = "c0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_outbox", sa.Column("trace_context", sa.Text, nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_outbox") as batch:
        batch.drop_column("trace_context")
