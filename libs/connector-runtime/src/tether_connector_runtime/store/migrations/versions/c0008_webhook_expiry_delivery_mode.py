"""Webhooks that expire, and connections that poll instead.

Webhooks keep when the provider will drop them (Jira's dynamic webhooks: 30 days after their
registration or last refresh; NULL: never), so they are refreshed well before. Connections
keep how their changes reach us: ``webhook``, or ``polling`` where the provider lets the
account register none (a Jira API token without the Administer Jira permission).

Revision ID: c0008
Revises: c0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0008"
down_revision = "c0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_webhooks", sa.Column("expires_at", UtcDateTime, nullable=True))
    op.add_column(
        f"{prefix}_connections",
        sa.Column("delivery", sa.String(16), nullable=False, server_default="webhook"),
    )


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_connections") as batch:
        batch.drop_column("delivery")
    with op.batch_alter_table(f"{prefix}_webhooks") as batch:
        batch.drop_column("expires_at")
