"""Database tables of task-core.

Tables carry a ``task_core_`` prefix because distributed deployments may point several services
at one PostgreSQL database (the gateway prefixes its own the same way), and every service that
consumes events keeps an inbox and may keep an outbox of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tether_common.db import new_metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
OutboxId = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend: SQLite hands back naive values.

    Storing UTC on SQLite also keeps its text timestamps ordered, which keyset pagination needs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Task(Base):
    __tablename__ = "task_core_tasks"
    __table_args__ = (
        # Serves both "this tenant's tasks" and the keyset order of the task list.
        Index("ix_task_core_tasks_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(512))
    description: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Replica -> number of changes accepted from it (see tether_events.clock).
    clock: Mapped[dict[str, int]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TaskVersion(Base):
    """One row per accepted change: the task as it was after that change."""

    __tablename__ = "task_core_task_versions"

    # No foreign key to the task on purpose: history must outlive any future hard delete, and
    # the composite key already makes a second writer of the same version fail.
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    clock: Mapped[dict[str, int]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(255))
    changed_fields: Mapped[list[str]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """An event committed with the change it describes, waiting for the relay to publish it."""

    __tablename__ = "task_core_outbox"
    __table_args__ = (
        # The relay's only query: unpublished rows in id order. A partial index stays as small
        # as the backlog, however many published rows accumulate.
        Index(
            "ix_task_core_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(OutboxId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    # The CloudEvent as JSON text: republishing after a crash sends the very same event.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ProcessedEvent(Base):
    """The inbox: events a consumer has applied, recorded in the same transaction as the
    effect, so a redelivered event is recognised and skipped."""

    __tablename__ = "task_core_processed_events"

    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)
