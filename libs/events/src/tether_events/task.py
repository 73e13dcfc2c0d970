"""Event payloads about tasks and provider items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from tether_events.clock import VectorClock
from tether_events.envelope import EventData

SyncedField = Literal["title", "description", "due_date", "due_at", "completed"]


class TaskChanged(EventData):
    """The full state of a task after an accepted change (``tether.task.changed.v1``).

    Carrying the whole state, not a diff, lets a consumer that missed events catch up from the
    latest one, and lets connectors diff against their own merge base.

    The due is ``due_date`` (a calendar date) or ``due_at`` (an instant, UTC), never both;
    neither: no due. ``due_at`` is optional, so an event published before it existed (every
    due then a date) reads as it meant. ``changed_fields`` names these fields as the task
    resource does (a due turned from a date into an instant names both).
    """

    event_type: ClassVar[str] = "tether.task.changed.v1"

    task_id: str
    tenant_id: str
    version: int = Field(ge=1, description="Monotonic per task; history row number")
    links_version: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Raised each time the task's links change (an export, any link news): a "
            "connector's cached links of the task hold only for events with the same count. "
            "Null from a publisher that does not count (nothing is cached then)"
        ),
    )
    title: str
    description: str
    due_date: date | None = Field(description="Due on this calendar day; null if not")
    due_at: datetime | None = Field(
        default=None, description="Due at this instant (UTC); null if not. Never both"
    )
    completed: bool
    deleted: bool
    clock: VectorClock
    origin: str = Field(description="Replica the change came from: core or a link replica")
    changed_fields: list[str] = Field(default_factory=list)
    updated_at: datetime

    @model_validator(mode="after")
    def _one_due(self) -> TaskChanged:
        if self.due_date is not None and self.due_at is not None:
            raise ValueError("due_date and due_at cannot both be set")
        return self


class ProviderItemChanged(EventData):
    """A provider copy of a task changed (``tether.provider.item_changed.v1``).

    Carries the merge base (clock and values both sides last agreed on) and the new values of
    exactly the fields that changed, so task-core can do a three-way merge per field.
    """

    event_type: ClassVar[str] = "tether.provider.item_changed.v1"

    task_id: str
    tenant_id: str
    link_id: str
    provider: Literal["trello", "asana", "jira"]
    replica: str = Field(description="The link's replica id, e.g. trello:<card id>")
    external_id: str
    base_clock: VectorClock
    base_values: dict[str, Any] = Field(
        description="Merge base of exactly the changed fields, by synced field name (title, "
        "description, due: an ISO date or instant, completed; events published before the "
        "due could be an instant name it due_date)"
    )
    new_values: dict[str, Any] = Field(description="The provider's values of those fields")
    deleted: bool = Field(default=False, description="The provider item was deleted")
    gone: Literal["deleted", "out_of_reach"] | None = Field(
        default=None,
        description="With deleted: how the item went away: deleted for good, or moved where "
        "the connection's account cannot see it (e.g. a Trello card moved to a board the "
        "account is not on); absent from older connectors (read as deleted)",
    )
    edited_at: datetime = Field(description="The provider's modification time (latest_wins)")
    field_edited_at: dict[str, datetime] = Field(
        default_factory=dict,
        description="When the provider says each changed field was edited (e.g. the date of "
        "Trello's action that set it), for latest_wins; a field not named here takes "
        "edited_at",
    )
    field_limits: dict[str, int] = Field(
        default_factory=dict,
        description="The most the provider's copy holds of each changed text field, in UTF-16 "
        "code units, where it holds less than core: a base value that is core's value cut to "
        "it with an ellipsis is core's value (the copy showed all of it that fits); absent "
        "from older connectors (no limit)",
    )


Provider = Literal["trello", "asana", "jira"]


class ExportRequested(EventData):
    """A person asked to export a task to a provider (``tether.link.requested.v1``).

    Published by task-core when it registers the pending link; the provider's connector
    creates the item. It carries the task's state so the connector needs nothing else, and the
    link id, which the connector marks the item with so a retry finds it instead of creating a
    second one.
    """

    event_type: ClassVar[str] = "tether.link.requested.v1"

    link_id: str
    task_id: str
    tenant_id: str
    provider: Provider
    connection_id: str
    target: dict[str, str] = Field(description="Where to create the item, e.g. {list_id}")
    task: TaskChanged


class LinkChanged(EventData):
    """A connector's word on a link (``tether.link.changed.v1``): the item exists (active;
    with ``error`` when the provider refused a write for good: the link syncs on, and an
    ``active`` without error clears it), a provider call keeps failing for now and is retried
    on its own (retrying), could not be created or written for good (failed), is gone on the
    provider's side (unlinked), was archived there because its task was deleted here
    (archived: recoverable in the provider), or waits for a person (paused: ``reason`` says
    why; syncing resumes on its own, with ``active``, once the item is restored or the
    connection repaired)."""

    event_type: ClassVar[str] = "tether.link.changed.v1"

    link_id: str
    task_id: str
    tenant_id: str
    provider: Provider
    status: Literal["active", "retrying", "failed", "unlinked", "archived", "paused"]
    reason: Literal["item_archived", "connection_broken"] | None = Field(
        default=None,
        description="With paused: a person archived the item in the provider (item_archived), "
        "or the provider refuses the connection's credentials (connection_broken)",
    )
    replica: str | None = Field(default=None, description="The link's replica id once active")
    external_id: str | None = None
    url: str | None = None
    error: str | None = Field(
        default=None,
        description="Why it failed, the last error while it is retrying, or with active the "
        "provider's words refusing a write for good (none: no refusal stands)",
    )
    next_attempt_at: datetime | None = Field(
        default=None, description="While retrying: when the connector tries again"
    )
    synced_clock: VectorClock | None = Field(
        default=None,
        description="With active: the task clock the provider item reflects. Core re-sends "
        "the task's state when it is newer (an edit made while the item was being created)",
    )


EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls for cls in (TaskChanged, ProviderItemChanged, ExportRequested, LinkChanged)
}
