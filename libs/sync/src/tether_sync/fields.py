"""The synced fields of a task and a task's full state as core publishes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from tether_events.clock import VectorClock
from tether_sync.due import LEGACY_FIELD_NAMES, DueValue

FieldName = Literal["title", "description", "due", "completed"]
FIELD_NAMES: tuple[FieldName, ...] = get_args(FieldName)
# The due is a date or a datetime (tether_sync.due). ``datetime`` is named before ``date``: a
# model field of this type would otherwise validate an instant at midnight into a date.
FieldValue = str | datetime | date | bool | None


def field_name(name: str) -> FieldName:
    """The synced field a stored name means: today's names, and ``due_date`` (the due before
    it could be an instant) as ``due``. Raises ``ValueError`` for any other name."""
    name = LEGACY_FIELD_NAMES.get(name, name)
    if name not in FIELD_NAMES:
        raise ValueError(f"not a synced field: {name!r}")
    return name


def renamed(values: Mapping[Any, Any]) -> dict[str, Any]:
    """A mapping keyed by field names with legacy names read as today's (data stored before
    the rename: link states, stamps, events); today's name wins if both are present."""
    out = {LEGACY_FIELD_NAMES.get(k, k): v for k, v in values.items() if k in LEGACY_FIELD_NAMES}
    out.update({k: v for k, v in values.items() if k not in LEGACY_FIELD_NAMES})
    return out


class TaskFields(BaseModel):
    """The mapped values of the synced fields: what a provider copy and core compare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    description: str = Field(default="", description="Markdown")
    due: DueValue = Field(default=None, description="A date (all day) or a UTC instant")
    completed: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        # Link states and intents stored before the due could be an instant say due_date.
        return renamed(data) if isinstance(data, dict) else data

    def value(self, name: FieldName) -> FieldValue:
        result: FieldValue = getattr(self, name)
        return result

    def pick(self, names: Iterable[FieldName]) -> dict[FieldName, FieldValue]:
        return {name: self.value(name) for name in names}

    def with_values(self, values: Mapping[FieldName, FieldValue]) -> TaskFields:
        if not values:
            return self
        update: dict[str, Any] = {k: v for k, v in coerce_values(values).items()}
        return self.model_copy(update=update)


def changed_fields(old: TaskFields, new: TaskFields) -> tuple[FieldName, ...]:
    """The fields whose values differ, in declaration order (stable plans and events)."""
    return tuple(name for name in FIELD_NAMES if old.value(name) != new.value(name))


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "title": TypeAdapter(str),
    "description": TypeAdapter(str),
    "due": TypeAdapter(DueValue),
    "completed": TypeAdapter(bool),
}


def coerce_values(values: Mapping[FieldName, Any]) -> dict[FieldName, FieldValue]:
    """Validate loose values per field.

    A partial map of fields comes back from JSON with dates as strings; typing it per field
    name keeps ``"2025-01-31"`` a string in a title and a date in ``due``. Legacy names
    (``due_date``) are read as today's.
    """
    coerced: dict[FieldName, FieldValue] = {}
    for raw, value in renamed(values).items():
        name = field_name(raw)
        coerced[name] = _ADAPTERS[name].validate_python(value)
    return coerced


class TaskSnapshot(BaseModel):
    """The state of a task after a change accepted by core (what ``TaskChanged`` carries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    fields: TaskFields
    clock: VectorClock
    deleted: bool = False
