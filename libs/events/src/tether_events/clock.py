"""The vector clock: which replica has seen which changes of a task.

A task's clock maps a replica id (``core``, ``trello:<card>``, ...) to the number of changes
accepted from that replica. Comparing two clocks tells whether one change already includes the
other (before/after/equal) or whether they happened independently (concurrent): the fact the
sync engine needs to drop stale events and to detect conflicts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


class Ordering(enum.Enum):
    BEFORE = "before"
    AFTER = "after"
    EQUAL = "equal"
    CONCURRENT = "concurrent"


class VectorClock(Mapping[str, int]):
    """An immutable vector clock; absent replicas count as 0."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, int] | None = None) -> None:
        cleaned: dict[str, int] = {}
        for replica, counter in (entries or {}).items():
            if not isinstance(counter, int) or isinstance(counter, bool) or counter < 0:
                raise ValueError(f"clock entry {replica!r} must be a non-negative integer")
            if counter:
                # Zero entries carry no information; dropping them makes equal clocks compare
                # and serialise identically.
                cleaned[replica] = counter
        self._entries = dict(sorted(cleaned.items()))

    # Mapping protocol -------------------------------------------------------------------------
    def __getitem__(self, replica: str) -> int:
        return self._entries.get(replica, 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, replica: object) -> bool:
        return replica in self._entries

    def __eq__(self, other: object) -> bool:
        if isinstance(other, VectorClock):
            return self._entries == other._entries
        if isinstance(other, Mapping):
            return self._entries == VectorClock(other)._entries
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._entries.items()))

    def __repr__(self) -> str:
        return f"VectorClock({self._entries!r})"

    # Clock operations -------------------------------------------------------------------------
    def increment(self, replica: str) -> VectorClock:
        """The clock after one more change accepted from ``replica``."""
        return VectorClock({**self._entries, replica: self[replica] + 1})

    def merge(self, other: Mapping[str, int]) -> VectorClock:
        """The pointwise maximum: a clock that has seen everything either has seen."""
        replicas = set(self._entries) | set(other)
        return VectorClock({r: max(self[r], other.get(r, 0)) for r in replicas})

    def compare(self, other: Mapping[str, int]) -> Ordering:
        """How this clock is ordered relative to ``other``."""
        replicas = set(self._entries) | set(other)
        less = any(self[r] < other.get(r, 0) for r in replicas)
        greater = any(self[r] > other.get(r, 0) for r in replicas)
        if less and greater:
            return Ordering.CONCURRENT
        if less:
            return Ordering.BEFORE
        if greater:
            return Ordering.AFTER
        return Ordering.EQUAL

    def dominated_by(self, other: Mapping[str, int]) -> bool:
        """True when ``other`` has seen everything this clock has (before or equal)."""
        return self.compare(other) in (Ordering.BEFORE, Ordering.EQUAL)

    def to_dict(self) -> dict[str, int]:
        return dict(self._entries)

    # pydantic integration: validates from and serialises to a plain JSON object --------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_mapping = core_schema.no_info_after_validator_function(
            lambda value: value if isinstance(value, VectorClock) else cls(value),
            core_schema.union_schema(
                [
                    core_schema.is_instance_schema(cls),
                    core_schema.dict_schema(
                        core_schema.str_schema(min_length=1),
                        core_schema.int_schema(ge=0, strict=True),
                    ),
                ]
            ),
        )
        return core_schema.json_or_python_schema(
            json_schema=core_schema.no_info_after_validator_function(
                cls,
                core_schema.dict_schema(
                    core_schema.str_schema(min_length=1), core_schema.int_schema(ge=0)
                ),
            ),
            python_schema=from_mapping,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda clock: clock.to_dict(), when_used="always"
            ),
        )
