"""Core's side: a local edit, and the three-way merge of a provider change into the task.

Clock rules (the precise form of ARCHITECTURE.md "Sync semantics"):
- a core edit: ``clock.increment("core")``;
- a provider change carries ``base_clock`` (what its link had synced); it is one event of its
  replica on top of that, ``change.clock = base_clock.increment(replica)``. Core drops it if
  ``change.clock <= clock`` (a duplicate: already merged), waits if ``base_clock`` is not
  ``<= clock`` (an earlier change of the same link has not arrived yet, so the base values
  would be wrong), and otherwise merges: ``clock.merge(change.clock).increment("core")``.
  Pointwise max records the provider's event; the ``core`` bump marks the merged result as a
  new state that can differ from both inputs, to be published whatever the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from tether_events.clock import VectorClock
from tether_sync.conflict import Conflict
from tether_sync.fields import (
    FIELD_NAMES,
    FieldName,
    FieldValue,
    TaskFields,
    TaskSnapshot,
    renamed,
)
from tether_sync.inbound import ProviderChange
from tether_sync.lengths import holds_as_much_as_fits
from tether_sync.policy import DEFAULT_POLICY, Candidate, Side, SyncPolicy, choose_winner
from tether_sync.replica import CORE_REPLICA


class FieldStamp(BaseModel):
    """Who produced a field's current value and when: the core side of ``latest_wins``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replica: str
    edited_at: AwareDatetime


class CoreTask(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    fields: TaskFields
    clock: VectorClock
    stamps: Mapping[FieldName, FieldStamp]
    deleted: bool = False

    @field_validator("stamps", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # Stamps stored before the due could be an instant name it due_date.
        return renamed(value) if isinstance(value, Mapping) else value

    @classmethod
    def create(cls, task_id: str, fields: TaskFields, *, at: AwareDatetime) -> CoreTask:
        stamp = FieldStamp(replica=CORE_REPLICA, edited_at=at)
        return cls(
            task_id=task_id,
            fields=fields,
            clock=VectorClock({CORE_REPLICA: 1}),
            stamps=dict.fromkeys(FIELD_NAMES, stamp),
        )

    def snapshot(self) -> TaskSnapshot:
        return TaskSnapshot(
            task_id=self.task_id, fields=self.fields, clock=self.clock, deleted=self.deleted
        )


def apply_core_edit(
    task: CoreTask, values: Mapping[FieldName, FieldValue], *, at: AwareDatetime
) -> CoreTask:
    """The task after a person's edit through the API; the same task if nothing changes."""
    fields = task.fields.with_values(values)
    changed = [n for n in FIELD_NAMES if fields.value(n) != task.fields.value(n)]
    if not changed:
        return task
    stamp = FieldStamp(replica=CORE_REPLICA, edited_at=at)
    return task.model_copy(
        update={
            "fields": fields,
            "clock": task.clock.increment(CORE_REPLICA),
            "stamps": {**task.stamps, **dict.fromkeys(changed, stamp)},
        }
    )


def delete_task(task: CoreTask) -> CoreTask:
    """The task deleted in core: a change like any other, so links see it as news."""
    if task.deleted:
        return task
    return task.model_copy(update={"deleted": True, "clock": task.clock.increment(CORE_REPLICA)})


class FieldMerge(enum.Enum):
    TAKE_PROVIDER = "take_provider"
    KEEP = "keep"
    CONFLICT = "conflict"


def merge_field(
    core: FieldValue, base: FieldValue, new: FieldValue, limit: int | None = None
) -> FieldMerge:
    """``limit``: the most the provider's copy holds of the field (None: no limit below
    core's). A base that is core's value cut to it is core's value: the copy showed all of it
    that fits, so a person's edit of the cut text is a plain provider edit, not a conflict.
    Consequence, by design: core's edits beyond the cut were never visible in the copy, and a
    person's edit of the copy replaces them."""
    if core == base:
        return FieldMerge.TAKE_PROVIDER
    if core == new:
        return FieldMerge.KEEP
    if holds_as_much_as_fits(base, core, limit):
        return FieldMerge.TAKE_PROVIDER
    return FieldMerge.CONFLICT


class MergeStatus(enum.StrEnum):
    APPLIED = "applied"  # publish outcome.task, even when no value changed
    DUPLICATE = "duplicate"  # already merged: acknowledge, do nothing
    NOT_READY = "not_ready"  # an earlier change of this link is missing: retry later


class MergeOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: MergeStatus
    task: CoreTask
    changed: tuple[FieldName, ...] = ()
    conflicts: tuple[Conflict, ...] = ()


def merge_provider_change(
    task: CoreTask,
    change: ProviderChange,
    policy: SyncPolicy = DEFAULT_POLICY,
    *,
    now: AwareDatetime,
) -> MergeOutcome:
    if change.task_id != task.task_id:
        raise ValueError(f"change for task {change.task_id} merged into task {task.task_id}")
    if change.clock.dominated_by(task.clock):
        return MergeOutcome(status=MergeStatus.DUPLICATE, task=task)
    if not change.base_clock.dominated_by(task.clock):
        return MergeOutcome(status=MergeStatus.NOT_READY, task=task)
    taken: dict[FieldName, FieldValue] = {}
    conflicts: list[Conflict] = []
    for name, new in change.new_values.items():
        core, base = task.fields.value(name), change.base_values[name]
        verdict = merge_field(core, base, new, change.field_limits.get(name))
        if verdict is FieldMerge.CONFLICT:
            conflict, side = _resolve(task, change, name, policy, now)
            conflicts.append(conflict)
            if side is Side.CORE:
                continue
        if verdict is not FieldMerge.KEEP:
            taken[name] = new
    stamps = {
        **task.stamps,
        **{n: FieldStamp(replica=change.replica, edited_at=change.edited_at_of(n)) for n in taken},
    }
    merged = task.model_copy(
        update={
            "fields": task.fields.with_values(taken),
            "clock": task.clock.merge(change.clock).increment(CORE_REPLICA),
            "stamps": stamps,
        }
    )
    changed = tuple(n for n in FIELD_NAMES if n in taken)
    return MergeOutcome(
        status=MergeStatus.APPLIED, task=merged, changed=changed, conflicts=tuple(conflicts)
    )


def _resolve(
    task: CoreTask,
    change: ProviderChange,
    name: FieldName,
    policy: SyncPolicy,
    now: AwareDatetime,
) -> tuple[Conflict, Side]:
    stamp = task.stamps[name]
    core = Candidate(
        value=task.fields.value(name), replica=stamp.replica, edited_at=stamp.edited_at
    )
    provider = Candidate(
        value=change.new_values[name], replica=change.replica, edited_at=change.edited_at_of(name)
    )
    field_policy = policy.for_field(name)
    side = choose_winner(field_policy, core, provider)
    winner = core if side is Side.CORE else provider
    conflict = Conflict(
        task_id=task.task_id,
        field=name,
        base_value=change.base_values[name],
        core_value=core.value,
        provider_value=provider.value,
        core_replica=core.replica,
        provider_replica=provider.replica,
        winner=winner.replica,
        winning_value=winner.value,
        policy=field_policy,
        resolved_at=now,
    )
    return conflict, side
