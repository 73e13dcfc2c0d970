"""Database tables of task-core.

Tables carry a ``task_core_`` prefix because distributed deployments may point several services
at one PostgreSQL database (the gateway prefixes its own the same way), and every service that
consumes events keeps an inbox and may keep an outbox of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tether_common.db import new_metadata
from tether_common.dbtypes import UtcDateTime
from tether_sync import Provider

LinkStatus = Literal["pending", "active", "retrying", "failed", "unlinked", "archived", "paused"]

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
OutboxId = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    # The due: a calendar date or an instant (UTC), never both (tether_sync.due).
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Replica -> number of changes accepted from it (see tether_events.clock).
    clock: Mapped[dict[str, int]] = mapped_column(JSON)
    # Field -> {"replica", "edited_at"}: who produced the current value and when (the core
    # side of the latest_wins policy; see tether_sync.FieldStamp).
    stamps: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    # Raised by every export and every link news of the task (LinkService), carried by each
    # TaskChanged: a connector's cached links of the task hold only for the same count.
    links_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Why a person should look at this task (tether_contracts.tasks.TaskReview), or None. Not a
    # synced field: flagging or clearing it changes no copy, so it has no clock or event.
    # none_as_null: "no review" is SQL NULL (not JSON null), which the list filter relies on.
    review: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )


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
    # The W3C trace context of the change that wrote it (JSON; None when tracing is off).
    trace_context: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProcessedEvent(Base):
    """The inbox: events a consumer has applied, recorded in the same transaction as the
    effect, so a redelivered event is recognised and skipped."""

    __tablename__ = "task_core_processed_events"

    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConflictRecord(Base):
    """A conflict the merge resolved (``tether_sync.Conflict``), kept for a person to review.

    Values are JSON (a due as an ISO date or instant; a cleared due is null). Rows recorded
    before the due could be an instant name the field ``due_date``; they are read as ``due``.
    """

    __tablename__ = "task_core_conflicts"
    __table_args__ = (
        # "This tenant's conflicts, newest first", optionally of one task.
        Index("ix_task_core_conflicts_tenant_id_resolved_at", "tenant_id", "resolved_at", "id"),
        Index("ix_task_core_conflicts_tenant_id_task_id", "tenant_id", "task_id", "resolved_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(32))
    base_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    core_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    provider_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    core_replica: Mapped[str] = mapped_column(String(255))
    provider_replica: Mapped[str] = mapped_column(String(255))
    winner: Mapped[str] = mapped_column(String(255))
    winning_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    policy: Mapped[str] = mapped_column(String(32))
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Link(Base):
    """An export of a task to one provider connection: the registry connectors report to.

    pending (export requested) -> active (the item exists) or failed; retrying while the
    connector's create or write calls keep failing and it tries again on its own (then active
    or failed); unlinked once the item is gone on the provider's side; archived once the task
    was deleted and the item archived. An active link's ``error`` is a write the provider
    refused for good (the link syncs on; the next write that goes through clears it).
    At most one link per task and connection that is not unlinked: exporting twice to one
    place would make two copies.
    """

    __tablename__ = "task_core_links"
    __table_args__ = (
        Index(
            "uq_task_core_links_task_id_connection_id",
            "task_id",
            "connection_id",
            unique=True,
            postgresql_where=text("status != 'unlinked'"),
            sqlite_where=text("status != 'unlinked'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    provider: Mapped[Provider] = mapped_column(String(16))
    connection_id: Mapped[str] = mapped_column(String(128))
    target: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[LinkStatus] = mapped_column(String(16))
    replica: Mapped[str | None] = mapped_column(String(255), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set only while retrying: when the connector said it tries again.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
