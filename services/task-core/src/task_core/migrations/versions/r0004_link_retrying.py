"""Links that are retrying: when the connector tries again (``next_attempt_at``).

The status column is free text already (``retrying`` needs no change there); a link that is
not retrying has no next attempt, so existing rows stay NULL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_core_links") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_core_links") as batch:
        batch.drop_column("next_attempt_at")
