"""HTTP models of task history, conflicts and links: task-core serves them, the gateway
passes them on to clients.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from tether_events.clock import VectorClock

Provider = Literal["trello", "asana", "jira"]
LinkStatus = Literal["pending", "active", "retrying", "failed", "unlinked", "archived", "paused"]
ConflictPolicyName = Literal["latest_wins", "core_wins", "provider_wins"]
# A synced field's value as JSON carries it: text, an ISO date or instant (the due), a
# boolean, or null.
FieldValue = str | date | bool | None

ConnectionId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
TargetKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
TargetValue = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Target = Annotated[
    dict[TargetKey, TargetValue],
    Field(
        min_length=1,
        max_length=16,
        description='Where the provider item goes, e.g. {"list_id": ...} for Trello',
    ),
]
NEXT_CURSOR = "Pass as ?cursor= for the next page; absent on the last page"


class TaskFieldsSnapshot(BaseModel):
    title: str
    description: str
    due_date: date | None
    # Versions recorded before a task could be due at an instant have no due_at.
    due_at: datetime | None = None
    completed: bool
    deleted: bool


class HistoryEntry(BaseModel):
    """One accepted change of a task: the task as it was after it."""

    version: int
    origin: str = Field(description="The replica the change came from: core or a link replica")
    changed_fields: list[str] = Field(
        description="Fields the change set; `deleted` for a delete, `unlinked` when a "
        "provider copy went away, `review_cleared` when a person cleared its review flag (the "
        "task's values are then unchanged)"
    )
    clock: VectorClock
    fields: TaskFieldsSnapshot
    recorded_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryEntry] = Field(description="Newest first")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)


class ConflictOut(BaseModel):
    """Two replicas changed a field concurrently to different values; ``winner`` says whose
    value the task kept, by ``policy``."""

    id: str
    task_id: str
    field: str = Field(
        description="The synced field: title, description, due (its values a date or an "
        "instant: the due is one field, a conflict never mixes two halves), completed"
    )
    base_value: FieldValue = Field(description="The value both sides started from")
    core_value: FieldValue = Field(description="The value core held (produced by core_replica)")
    provider_value: FieldValue
    core_replica: str
    provider_replica: str
    winner: str = Field(description="The replica whose value won")
    winning_value: FieldValue
    policy: ConflictPolicyName
    resolved_at: datetime


class ConflictPage(BaseModel):
    items: list[ConflictOut] = Field(description="Newest first")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    connection_id: ConnectionId
    target: Target


class LinkOut(BaseModel):
    id: str
    tenant_id: str
    task_id: str
    provider: Provider
    connection_id: str
    target: dict[str, str]
    status: LinkStatus = Field(
        description="pending (export requested), active (the item exists), retrying (the "
        "connector's provider calls keep failing; it tries again on its own), failed (given "
        "up: export again to retry), unlinked (the item is gone on the provider's side), "
        "archived (the task was deleted and its item archived), paused (waiting for a person: "
        "the item was archived in the provider, or the connection is broken; it resumes on "
        "its own once the item is restored or the connection repaired, and exporting again "
        "restores the item)"
    )
    replica: str | None = Field(description="The copy's replica id (as in clocks) once active")
    external_id: str | None
    url: str | None
    error: str | None = Field(
        description="Why the export or a write failed (failed), the last error (retrying), "
        "why the link waits (paused), or a write the provider refused for good while the link "
        "syncs on (active: the refused value is offered again with the task's next change; "
        "cleared once a write goes through)"
    )
    # A default, so a client of an older task-core (no such key) still reads links.
    next_attempt_at: datetime | None = Field(
        default=None, description="While retrying: when the connector tries again; else null"
    )
    created_at: datetime
    updated_at: datetime


class LinkList(RootModel[list[LinkOut]]):
    """A task's links, oldest first (a JSON array)."""
