"""Connections, links, webhooks, deliveries, processed events and cursors of one provider.

Revision ID: c0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import context, op
from sqlalchemy import JSON, Column, Index, MetaData, String, Table, Text, UniqueConstraint

from tether_common.db import new_metadata
from tether_common.dbtypes import UtcDateTime

revision = "c0001"
down_revision = None
branch_labels = None
depends_on = None


# The tables exactly as this revision made them (frozen: later revisions change them with
# explicit operations, so an old database and a new one end up with the same schema).
def _tables_c0001(prefix: str) -> MetaData:
    metadata = new_metadata()
    Table(
        f"{prefix}_connections",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("tenant_id", String(64), nullable=False, index=True),
        Column("account_id", String(128), nullable=False),
        Column("account_name", String(256), nullable=False, default=""),
        # Fernet ciphertext of the provider token; the plaintext never touches the database.
        Column("token_encrypted", Text, nullable=False),
        Column("status", String(16), nullable=False, default="active"),
        Column("error", Text, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
    )
    Table(
        f"{prefix}_links",
        metadata,
        Column("link_id", String(64), primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("task_id", String(64), nullable=False, index=True),
        Column("connection_id", String(64), nullable=False),
        Column("container_id", String(128), nullable=False),
        Column("external_id", String(128), nullable=True),
        Column("replica", String(256), nullable=True),
        Column("url", Text, nullable=True),
        Column("status", String(16), nullable=False),
        Column("synced_clock", JSON, nullable=False),
        Column("synced_fields", JSON, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Index(f"ix_{prefix}_links_external_id", "external_id"),
    )
    Table(
        f"{prefix}_webhooks",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("connection_id", String(64), nullable=False),
        Column("model_id", String(128), nullable=False),
        Column("external_webhook_id", String(128), nullable=True),
        Column("callback_url", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        UniqueConstraint("connection_id", "model_id", name=f"uq_{prefix}_webhooks_model"),
    )
    Table(
        f"{prefix}_deliveries",
        metadata,
        Column("delivery_id", String(256), primary_key=True),
        Column("received_at", UtcDateTime, nullable=False),
    )
    Table(
        f"{prefix}_processed_events",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    Table(
        f"{prefix}_cursors",
        metadata,
        Column("container_id", String(128), primary_key=True),
        Column("cursor", Text, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    return metadata


def upgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    _tables_c0001(prefix).create_all(op.get_bind())


def downgrade() -> None:
    prefix = context.config.get_main_option("table_prefix") or ""
    _tables_c0001(prefix).drop_all(op.get_bind())
