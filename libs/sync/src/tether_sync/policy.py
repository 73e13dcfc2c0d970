"""Which value wins a conflict: deterministic, configurable per field."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tether_sync.fields import FieldName, FieldValue, renamed


class ConflictPolicy(enum.StrEnum):
    LATEST_WINS = "latest_wins"
    CORE_WINS = "core_wins"
    PROVIDER_WINS = "provider_wins"


class Side(enum.StrEnum):
    CORE = "core"
    PROVIDER = "provider"


class Candidate(BaseModel):
    """One side of a conflict: a value, the replica whose edit produced it, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: FieldValue
    replica: str
    edited_at: AwareDatetime


class SyncPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: ConflictPolicy = ConflictPolicy.LATEST_WINS
    per_field: Mapping[FieldName, ConflictPolicy] = Field(default_factory=dict)

    @field_validator("per_field", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # Configuration written before the due could be an instant names it due_date.
        return renamed(value) if isinstance(value, Mapping) else value

    def for_field(self, name: FieldName) -> ConflictPolicy:
        return self.per_field.get(name, self.default)


DEFAULT_POLICY = SyncPolicy()


def _recency(candidate: Candidate) -> tuple[object, ...]:
    # The replica id breaks timestamp ties (clocks of different machines collide at the
    # provider's resolution); the value's repr breaks the rest so the order is total.
    return (candidate.edited_at, candidate.replica, repr(candidate.value))


def choose_winner(policy: ConflictPolicy, core: Candidate, provider: Candidate) -> Side:
    """The winning side. Depends only on the two candidates, never on arrival order, so
    whoever evaluates a conflict reaches the same answer (for ``latest_wins``, swapping the
    roles of the two candidates picks the same value)."""
    if policy is ConflictPolicy.CORE_WINS:
        return Side.CORE
    if policy is ConflictPolicy.PROVIDER_WINS:
        return Side.PROVIDER
    return Side.PROVIDER if _recency(provider) > _recency(core) else Side.CORE
