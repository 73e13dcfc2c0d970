"""Tenants, users and API tokens.

Revision ID: 0001
Revises:
Create Date: 2024-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_tenants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_tenants"),
        sa.UniqueConstraint("name", name="uq_gateway_tenants_name"),
    )
    op.create_table(
        "gateway_users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_users"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["gateway_tenants.id"],
            name="fk_gateway_users_tenant_id_gateway_tenants",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("tenant_id", "email", name="uq_gateway_users_tenant_id_email"),
    )
    op.create_index("ix_gateway_users_tenant_id", "gateway_users", ["tenant_id"])
    op.create_table(
        "gateway_api_tokens",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_api_tokens"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["gateway_users.id"],
            name="fk_gateway_api_tokens_user_id_gateway_users",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name="uq_gateway_api_tokens_token_hash"),
    )
    op.create_index("ix_gateway_api_tokens_user_id", "gateway_api_tokens", ["user_id"])
    op.create_index("ix_gateway_api_tokens_prefix", "gateway_api_tokens", ["prefix"])


def downgrade() -> None:
    op.drop_table("gateway_api_tokens")
    op.drop_table("gateway_users")
    op.drop_table("gateway_tenants")
