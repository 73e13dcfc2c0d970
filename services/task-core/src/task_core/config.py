"""Task-core settings, read from ``TETHER_TASK_CORE_*`` environment variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_common.replica_settings import ReadReplicaChecked
from tether_common.settings import BusSettings, ServiceSettings
from tether_sync import ConflictPolicy, FieldName, SyncPolicy
from tether_sync.fields import renamed


class TaskCoreSettings(ReadReplicaChecked, ServiceSettings, BusSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_TASK_CORE_", extra="ignore", env_file=None)

    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/task-core.db",
        description="Where tasks, their history and the outbox live (PostgreSQL or SQLite)",
    )
    read_database_url: DatabaseUrl | None = Field(
        default=None,
        description="A PostgreSQL streaming replica of DATABASE_URL that serves reads (tasks, "
        "history, conflicts, links); a read that must see a recent write goes to the primary "
        "until the replica has it. Unset: every read goes to DATABASE_URL",
    )
    read_your_writes_seconds: float = Field(
        default=30.0,
        gt=0,
        description="After a tenant's write, seconds during which this replica of task-core "
        "reads that tenant's data from the read replica only once it has replayed the write",
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply database migrations when the service starts"
    )
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8001, ge=1, le=65535, description="Port of the HTTP server")
    relay_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between outbox polls when no local commit wakes the relay "
        "(changes committed by other replicas are found this way)",
    )
    relay_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Outbox rows the relay reads per query"
    )
    conflict_policy: ConflictPolicy = Field(
        default=ConflictPolicy.LATEST_WINS,
        description="Who wins when core and a provider changed a field concurrently: "
        "latest_wins (the later edit; ties go to the greater replica id), core_wins or "
        "provider_wins",
    )
    field_policies: dict[FieldName, ConflictPolicy] = Field(
        default_factory=dict,
        description="Per-field exceptions to CONFLICT_POLICY, a JSON object such as "
        '{"title": "core_wins"} (fields: title, description, due, completed; due_date, the '
        "due's name before it could be an instant, is read as due)",
    )

    @field_validator("field_policies", mode="before")
    @classmethod
    def _field_names(cls, value: Any) -> Any:
        return renamed(value) if isinstance(value, dict) else value

    @property
    def sync_policy(self) -> SyncPolicy:
        return SyncPolicy(default=self.conflict_policy, per_field=self.field_policies)
