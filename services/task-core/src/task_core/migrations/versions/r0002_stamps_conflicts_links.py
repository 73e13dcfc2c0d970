"""Per-field stamps on tasks (the sync engine's latest_wins), recorded conflicts, and links.

Existing tasks get the stamps their values would have had: every field produced by ``core``
at the task's ``updated_at`` (no provider change was ever merged before this revision).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

FIELDS = ("title", "description", "due_date", "completed")
BATCH = 1000


def _core_stamps(updated_at: datetime | str) -> dict[str, dict[str, str]]:
    # SQLite hands timestamps back as naive datetimes (or text); they were stored as UTC.
    at = datetime.fromisoformat(updated_at) if isinstance(updated_at, str) else updated_at
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    # The form FieldStamp serialises to, so old and new rows read the same.
    stamp = {"replica": "core", "edited_at": at.isoformat().replace("+00:00", "Z")}
    return dict.fromkeys(FIELDS, stamp)


def _stamp_existing_tasks() -> None:
    tasks = sa.table(
        "task_core_tasks",
        sa.column("id", sa.String()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("stamps", sa.JSON()),
    )
    connection = op.get_bind()
    # In batches by id, so a large table never sits in memory at once.
    last = ""
    while True:
        rows = connection.execute(
            sa.select(tasks.c.id, tasks.c.updated_at)
            .where(tasks.c.id > last)
            .order_by(tasks.c.id)
            .limit(BATCH)
        ).all()
        for task_id, updated_at in rows:
            connection.execute(
                tasks.update().where(tasks.c.id == task_id).values(stamps=_core_stamps(updated_at))
            )
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.add_column(sa.Column("stamps", sa.JSON(), nullable=True))
    _stamp_existing_tasks()
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.alter_column("stamps", existing_type=sa.JSON(), nullable=False)

    op.create_table(
        "task_core_conflicts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("base_value", sa.JSON(), nullable=True),
        sa.Column("core_value", sa.JSON(), nullable=True),
        sa.Column("provider_value", sa.JSON(), nullable=True),
        sa.Column("core_replica", sa.String(255), nullable=False),
        sa.Column("provider_replica", sa.String(255), nullable=False),
        sa.Column("winner", sa.String(255), nullable=False),
        sa.Column("winning_value", sa.JSON(), nullable=True),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_core_conflicts"),
    )
    op.create_index(
        "ix_task_core_conflicts_tenant_id_resolved_at",
        "task_core_conflicts",
        ["tenant_id", "resolved_at", "id"],
    )
    op.create_index(
        "ix_task_core_conflicts_tenant_id_task_id",
        "task_core_conflicts",
        ["tenant_id", "task_id", "resolved_at"],
    )

    op.create_table(
        "task_core_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("connection_id", sa.String(128), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("replica", sa.String(255), nullable=True),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_core_links"),
    )
    op.create_index("ix_task_core_links_task_id", "task_core_links", ["task_id"])
    op.create_index(
        "uq_task_core_links_task_id_connection_id",
        "task_core_links",
        ["task_id", "connection_id"],
        unique=True,
        postgresql_where=sa.text("status != 'unlinked'"),
        sqlite_where=sa.text("status != 'unlinked'"),
    )


def downgrade() -> None:
    op.drop_index("uq_task_core_links_task_id_connection_id", table_name="task_core_links")
    op.drop_index("ix_task_core_links_task_id", table_name="task_core_links")
    op.drop_table("task_core_links")
    op.drop_index("ix_task_core_conflicts_tenant_id_task_id", table_name="task_core_conflicts")
    op.drop_index("ix_task_core_conflicts_tenant_id_resolved_at", table_name="task_core_conflicts")
    op.drop_table("task_core_conflicts")
    with op.batch_alter_table("task_core_tasks") as batch:
        batch.drop_column("stamps")
