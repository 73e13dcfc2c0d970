"""The task resource as clients see it (the gateway's /v1/tasks) and task-core serves it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tether_events.clock import VectorClock

# Core holds the largest value any supported provider accepts, so nothing a person types in a
# provider is too long for core, and a person's edit of such a value is never refused. A
# provider that takes less gets a visibly shortened copy (the connector runtime's
# pipeline/limits.py). Characters are Unicode code points here; providers count UTF-16 units.
TITLE_MAX = 16_384
"""Longest title: Trello's card ``name`` (16384 characters, refused above with a 400, not
truncated: PROVIDERS.md, Trello). Jira's ``summary`` takes 255 ("Summary can't exceed 255
characters", Jira's answer to longer ones); Asana documents no limit for a task's ``name``
(https://developers.asana.com/docs/tasks: "generally a short sentence fragment ... it can be
longer")."""
DESCRIPTION_MAX = 32_767
"""Longest description: Jira Cloud's issue ``description`` (32767 characters; longer is a 400
``CONTENT_LIMIT_EXCEEDED``: https://jira.atlassian.com/browse/JRACLOUD-78553). Trello's
``desc`` takes 16384 (PROVIDERS.md, Trello); Asana documents no limit for ``notes``."""

DUE_DATE = Field(
    default=None,
    description="Due on this calendar day (all day), wherever one is: `2026-12-01`. Setting "
    "it clears `due_at`; null clears the due",
)
DUE_AT = Field(
    default=None,
    description="Due at this instant, with an offset (`2026-12-02T01:00:00Z`); kept in UTC to "
    "the millisecond. Setting it clears `due_date`; null clears the due",
)
BOTH_DUES = (
    "due_date and due_at cannot both be set: a task is due on a date or at an instant (send "
    "one; the other is cleared)"
)


def one_due(due_at: datetime | None, info: ValidationInfo) -> datetime | None:
    """A validator of ``due_at`` (declared after ``due_date``): a 422 at ``due_at`` naming
    both fields when both are set."""
    if due_at is not None and info.data.get("due_date") is not None:
        raise ValueError(BOTH_DUES)
    return due_at


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    due_date: date | None = DUE_DATE
    due_at: AwareDatetime | None = DUE_AT
    completed: bool = False

    _one_due = field_validator("due_at")(one_due)


class TaskPatch(BaseModel):
    """A partial update: only the fields present change; at least one must be. The due is a
    date (``due_date``) or an instant (``due_at``): setting one clears the other, null in
    either clears the due, both set is a 422."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    due_date: date | None = DUE_DATE
    due_at: AwareDatetime | None = DUE_AT
    completed: bool | None = None

    _one_due = field_validator("due_at")(one_due)

    @model_validator(mode="after")
    def _not_empty(self) -> TaskPatch:
        if not self.model_fields_set:
            raise ValueError("a patch must change at least one field")
        for name in ("title", "description", "completed"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class TaskReview(BaseModel):
    """Why a person should look at a task. Tether flags rather than deletes: a provider-side
    delete unlinks the copy and flags the task here (``provider_deleted``); an archived copy
    pauses its link and flags the task (``provider_archived``; restoring the copy clears it); a
    copy moved where the connection's account cannot see it unlinks (``provider_out_of_reach``);
    ``DELETE /v1/tasks/{id}/review`` clears either."""

    reason: Literal["provider_deleted", "provider_archived", "provider_out_of_reach"]
    message: str
    provider: str | None = None
    link_id: str | None = None
    flagged_at: datetime


class TaskOut(BaseModel):
    id: str
    tenant_id: str
    title: str
    description: str
    due_date: date | None = Field(description="Due on this day (all day); null if not")
    due_at: datetime | None = Field(
        default=None, description="Due at this instant (UTC); null if not. Never both"
    )
    completed: bool
    deleted: bool
    version: int
    clock: VectorClock
    created_at: datetime
    updated_at: datetime
    review: TaskReview | None = Field(
        default=None,
        description="Set when the task needs a person's look (e.g. a copy was deleted)",
    )


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; absent on the last page"
    )
