"""Links remember what their writes may have overwritten unseen.

A connector whose provider's notices name each edit's value and time (Trello) writes without
reading the item first. Each field written keeps the value the base held before and the window
in which a person's edit would have been overwritten (``overwrites``, see
``tether_sync.overwrites``); ``seen_at`` is the provider's time up to which the link's base
reflects the item (the last activity its last read showed), where such a window starts.

Existing links get NULL for both: no write of theirs is unread yet.

Revision ID: c0010
Revises: c0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0010"
down_revision = "c0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_links", sa.Column("overwrites", sa.JSON, nullable=True))
    op.add_column(f"{prefix}_links", sa.Column("seen_at", UtcDateTime, nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_links") as batch:
        batch.drop_column("seen_at")
        batch.drop_column("overwrites")
