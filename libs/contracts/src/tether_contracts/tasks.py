"""The task resource as clients see it (the gateway's /v1/tasks) and task-core serves it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    due_date: date | None = None
    completed: bool = False


class TaskPatch(BaseModel):
    """A partial update: only the fields present change; at least one must be."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    due_date: date | None = None
    completed: bool | None = None

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
    due_date: date | None
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
