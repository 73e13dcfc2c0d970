"""Credentials that expire and webhooks with their own URL and secret (OAuth 2 providers).

Connections keep when their token stops working (NULL: never, as every token so far).
Webhooks keep the key their callback URL ends in and their own signing secret, encrypted
(NULL for a provider that signs with one app-wide secret, as Trello does).

Revision ID: c0007
Revises: c0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0007"
down_revision = "c0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_connections", sa.Column("expires_at", UtcDateTime, nullable=True))
    # Batch mode: SQLite adds a unique constraint only by rebuilding the table.
    with op.batch_alter_table(f"{prefix}_webhooks") as batch:
        batch.add_column(sa.Column("hook_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("secret_encrypted", sa.Text, nullable=True))
        batch.create_unique_constraint(f"uq_{prefix}_webhooks_hook_key", ["hook_key"])


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_webhooks") as batch:
        batch.drop_constraint(f"uq_{prefix}_webhooks_hook_key", type_="unique")
        batch.drop_column("secret_encrypted")
        batch.drop_column("hook_key")
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.drop_column("expires_at")
