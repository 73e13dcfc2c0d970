"""A task can be due at an instant (``due_at``, UTC) instead of on a date (``due_date``).

Never both: the sync engine holds one due (tether_sync.due). Existing rows keep their
``due_date`` and get no ``due_at``, which is exactly what they meant; nothing is rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # An instant has no date of its own (whose day?), so it is dropped with its column.
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.drop_column("due_at")
