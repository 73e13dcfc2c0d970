"""Webhook registrations claimed before the provider is asked.

Exports in flight at once to one container (and replicas sharing the database) each found the
webhook's row unregistered and each registered one with the provider: Asana kept several
webhooks for a project, and Jira's stored secret was not the one its webhook signs with. The
row now says until when one of them holds the registration (``claimed_until``); the others
leave it to them, and a claim whose holder crashed runs out.

Revision ID: c0009
Revises: c0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0009"
down_revision = "c0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.add_column(f"{prefix}_webhooks", sa.Column("claimed_until", UtcDateTime, nullable=True))


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    with op.batch_alter_table(f"{prefix}_webhooks") as batch:
        batch.drop_column("claimed_until")
