"""The CloudEvents 1.0 envelope every Tether event travels in (JSON structured mode)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DataT = TypeVar("DataT", bound=BaseModel)


def _now() -> datetime:
    return datetime.now(UTC)


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 envelope.

    ``tenantid`` is a CloudEvents extension attribute (extension names are lower-case
    alphanumerics only) naming the company the event belongs to; consumers scope every effect
    by it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: str = Field(default="1.0", pattern=r"^1\.0$")
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    source: str = Field(min_length=1, description="URI reference of the producing service")
    type: str = Field(min_length=1, description="Versioned event type, e.g. tether.task.changed.v1")
    time: datetime = Field(default_factory=_now)
    subject: str = Field(min_length=1, description="The task id the event is about")
    tenantid: str = Field(min_length=1)
    datacontenttype: str = "application/json"
    data: DataT


class EventData(BaseModel):
    """Base of every event payload; subclasses name their CloudEvents ``type``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]

    def envelope(
        self, *, source: str, subject: str, tenant_id: str, event_id: str | None = None
    ) -> CloudEvent[Self]:
        kwargs: dict[str, Any] = {}
        if event_id is not None:
            kwargs["id"] = event_id
        # Parametrise by the runtime class so the envelope validates this payload's own type.
        envelope_type: type[CloudEvent[Self]] = CloudEvent[type(self)]  # type: ignore[misc,assignment]
        return envelope_type(
            source=source,
            type=self.event_type,
            subject=subject,
            tenantid=tenant_id,
            data=self,
            **kwargs,
        )
