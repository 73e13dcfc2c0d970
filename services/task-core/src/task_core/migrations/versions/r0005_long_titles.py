"""Titles as long as any supported provider takes (Trello's card name: 16,384 characters).

``title`` was VARCHAR(512): a longer title from a provider could not be stored on PostgreSQL
(SQLite does not enforce the length). Text holds any; the API bounds it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.alter_column(
            "title", existing_type=sa.String(512), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    # Titles longer than 512 characters are cut to fit the older column.
    op.execute("UPDATE task_core_tasks SET title = substr(title, 1, 512)")
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.alter_column(
            "title", existing_type=sa.Text(), type_=sa.String(512), existing_nullable=False
        )
