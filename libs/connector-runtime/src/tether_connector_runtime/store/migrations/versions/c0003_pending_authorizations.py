"""Pending authorizations: a person's consent in flight between starting an OAuth flow and the
browser's return (OAuth 1.0a's request token and its encrypted secret), bound to the tenant and
user who started it, expiring.

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from tether_common.dbtypes import UtcDateTime

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.create_table(
        f"{prefix}_pending_authorizations",
        sa.Column("state", sa.String(255), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index(
        f"ix_{prefix}_pending_authorizations_expires_at",
        f"{prefix}_pending_authorizations",
        ["expires_at"],
    )


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    op.drop_index(
        f"ix_{prefix}_pending_authorizations_expires_at",
        table_name=f"{prefix}_pending_authorizations",
    )
    op.drop_table(f"{prefix}_pending_authorizations")
