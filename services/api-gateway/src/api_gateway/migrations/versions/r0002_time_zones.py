"""Time zones: each tenant has a default (UTC unless set), each user may have their own.

A user's zone decides where their date-only due dates fall on a provider whose due is an
instant (Trello): the connectors keep it with every connection the user makes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_tenants") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
        )
    with op.batch_alter_table("gateway_users") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gateway_users") as batch:
        batch.drop_column("time_zone")
    with op.batch_alter_table("gateway_tenants") as batch:
        batch.drop_column("time_zone")
