"""The record of a resolved conflict, kept for a person to review."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from tether_sync.fields import FieldName, FieldValue, coerce_values, field_name
from tether_sync.policy import ConflictPolicy


class Conflict(BaseModel):
    """Two replicas changed ``field`` concurrently to different values.

    ``core_replica`` is the replica whose edit produced the value core held (``core`` itself or
    a link merged earlier); ``winner`` is the replica whose value the task now has.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    field: FieldName
    base_value: FieldValue
    core_value: FieldValue
    provider_value: FieldValue
    core_replica: str
    provider_replica: str
    winner: str
    winning_value: FieldValue
    policy: ConflictPolicy
    resolved_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _typed_values(cls, data: Any) -> Any:
        # Values of different fields share one union type; JSON would bring dates back as
        # strings without typing them by the field they belong to.
        # A record stored before the due could be an instant names its field due_date.
        if isinstance(data, dict) and isinstance(data.get("field"), str):
            keys = ("base_value", "core_value", "provider_value", "winning_value")
            field = field_name(data["field"])
            data = {
                **data,
                "field": field,
                **{k: coerce_values({field: data[k]})[field] for k in keys if k in data},
            }
        return data
