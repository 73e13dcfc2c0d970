"""The synced fields of a task and a task's full state as core publishes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tether_events.clock import VectorClock

FieldName = Literal["title", "description", "due_date", "completed"]
FIELD_NAMES: tuple[FieldName, ...] = get_args(FieldName)
FieldValue = str | date | bool | None


class TaskFields(BaseModel):
    """The mapped values of the synced fields: what a provider copy and core compare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    description: str = Field(default="", description="Markdown")
    due_date: date | None = None
    completed: bool = False

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
    "due_date": TypeAdapter(date | None),
    "completed": TypeAdapter(bool),
}


def coerce_values(values: Mapping[FieldName, Any]) -> dict[FieldName, FieldValue]:
    """Validate loose values per field.

    A partial map of fields comes back from JSON with dates as strings; typing it per field
    name keeps ``"2025-01-31"`` a string in a title and a date in ``due_date``.
    """
    coerced: dict[FieldName, FieldValue] = {}
    for name, value in values.items():
        if name not in _ADAPTERS:
            raise ValueError(f"not a synced field: {name!r}")
        coerced[name] = _ADAPTERS[name].validate_python(value)
    return coerced


class TaskSnapshot(BaseModel):
    """The state of a task after a change accepted by core (what ``TaskChanged`` carries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    fields: TaskFields
    clock: VectorClock
    deleted: bool = False
