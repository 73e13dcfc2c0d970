"""What the pipeline reads back from a link's row: its state, its parked work, its write
intent, a write the provider refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tether_events.clock import VectorClock
from tether_sync import FieldName, LinkState, TaskFields
from tether_sync.overwrites import Overwrite, overwrite_from_json

# Link statuses whose item is looked at (a paused link's item may be restored).
WATCHED = ("active", "paused")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Parked:
    """A link's work waiting for a retry: the newest task state still to write (or to create
    the item from), as a ``TaskChanged`` payload, and the retry schedule."""

    task: dict[str, Any]
    attempts: int
    next_attempt_at: datetime | None
    retry_until: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class WriteIntent:
    """A write to the provider under way: the fields it sets the item to, and the task clock
    it brings the item to. Recorded before the call, cleared when the new base is saved."""

    fields: TaskFields
    clock: VectorClock


@dataclass(frozen=True)
class StoredLink:
    """A link as the connector knows it: where the item lives plus its sync state."""

    link_id: str
    tenant_id: str
    task_id: str
    connection_id: str
    container_id: str
    external_id: str | None
    replica: str | None
    url: str | None
    status: str
    state: LinkState | None  # None until the provider item exists
    target: dict[str, str] | None = None  # where the export asked the item to go
    parked: Parked | None = None  # work waiting for a retry
    intent: WriteIntent | None = None  # a write that may have reached the provider
    due_zone: str | None = None  # the IANA zone the item's due was last written in
    # The provider's words refusing the link's last write for good (pipeline/refusals.py);
    # None while none stands. ``last_error`` holds them when no work is parked (parked work
    # keeps its own last error there).
    refusal: str | None = None
    # What the link's writes may have overwritten unseen (tether_sync.overwrites), and the
    # provider's time up to which the base reflects the item.
    overwrites: Mapping[FieldName, Overwrite] = field(default_factory=dict)
    seen_at: datetime | None = None

    @property
    def is_parked(self) -> bool:
        return self.parked is not None

    @classmethod
    def from_row(cls, row: Any) -> StoredLink:
        state = None
        if row.replica is not None:
            state = LinkState(
                link_id=row.link_id,
                task_id=row.task_id,
                replica=row.replica,
                synced_clock=VectorClock(row.synced_clock),
                synced_fields=TaskFields.model_validate(row.synced_fields),
            )
        parked = None
        if row.parked is not None:
            parked = Parked(
                task=dict(row.parked),
                attempts=int(row.attempts),
                next_attempt_at=row.next_attempt_at,
                retry_until=row.retry_until,
                last_error=row.last_error,
            )
        return cls(
            row.link_id,
            row.tenant_id,
            row.task_id,
            row.connection_id,
            row.container_id,
            row.external_id,
            row.replica,
            row.url,
            row.status,
            state,
            dict(row.target) if row.target is not None else None,
            parked,
            _intent(row.intent),
            row.due_zone,
            row.last_error if parked is None else None,
            _overwrites(row.overwrites),
            row.seen_at,
        )


def _overwrites(raw: Any) -> dict[FieldName, Overwrite]:
    if not raw:
        return {}
    kept = (overwrite_from_json(value) for value in raw.values())
    return {over.field: over for over in kept}


def overwrites_json(kept: Mapping[FieldName, Overwrite]) -> dict[str, Any] | None:
    """The column's value for ``kept`` (None when empty)."""
    return {name: over.model_dump(mode="json") for name, over in kept.items()} or None


def _intent(raw: Any) -> WriteIntent | None:
    if raw is None:
        return None
    return WriteIntent(TaskFields.model_validate(raw["fields"]), VectorClock(raw["clock"]))
