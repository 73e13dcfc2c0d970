"""A task counts the changes to its links (``links_version``), and every TaskChanged says it.

Connectors keep which links each task has in a bounded cache (to skip the lookup for tasks
they do not hold, most of them): an answer is used only for events naming the same count, so
an export or any link news, which raises it, makes the next events ask again. Existing rows
start at 0, as if nothing had been cached against them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.add_column(
            sa.Column("links_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.drop_column("links_version")
