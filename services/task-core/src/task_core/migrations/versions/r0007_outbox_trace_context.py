"""Outbox rows keep the trace context of the change that wrote them.

The relay publishes a row after the request (or the handling of an event) that wrote it has
ended; with the context kept beside the row, the event still joins that change's trace
(``tether_events.trace_context``). NULL when tracing is off, and for rows written before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_core_outbox") as batch:
        batch.add_column(sa.Column("trace_context", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_core_outbox") as batch:
        batch.drop_column("trace_context")
