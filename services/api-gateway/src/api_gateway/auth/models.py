"""Database tables of the gateway: tenants, users and hashed API tokens.

Tables carry a ``gateway_`` prefix because distributed deployments may point several services at
one PostgreSQL database (each keeps its own Alembic version table for the same reason).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tether_common.db import new_metadata
from tether_common.dbtypes import UtcDateTime


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Tenant(Base):
    __tablename__ = "gateway_tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # IANA name: the zone of its users who set none (tether_contracts.people).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    __tablename__ = "gateway_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_gateway_users_tenant_id_email"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("gateway_tenants.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    # IANA name; None: the tenant's. Where the user's date-only dues fall on Trello.
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(lazy="raise")


class ApiToken(Base):
    __tablename__ = "gateway_api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("gateway_users.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 hex of the token; the token itself is never stored (see auth/tokens.py).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, enough for a person to recognise and revoke it.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    user: Mapped[User] = relationship(lazy="raise")
