"""Links remember the zone their item's due was last written in: a date-only due on a provider
whose due is an instant is 12:00 that day in the owner's zone, and once the owner moves to
another zone the dues already on items must still read back as the dates we wrote.

Existing links get NULL, read in the connection owner's zone: what every due so far was
written in, unless the owner has moved since.

Revision ID: c0006
Revises: c0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "c0006"
down_revision = "c0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_links", sa.Column("due_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    # SQLite drops columns by rebuilding the table: batch mode does that where needed.
    with op.batch_alter_table(f"{prefix}_links") as batch:
        batch.drop_column("due_zone")
