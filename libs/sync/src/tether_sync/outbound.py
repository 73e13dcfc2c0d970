"""Task change -> provider: whether to write, what, and what the link knows afterwards.

A connector runs, per link, one task change (or several coalesced) at a time::

    decision = decide_outbound(link, snapshot)
    WritePlan, empty      -> link = after_write(link, plan)            (nothing to send)
    WritePlan, non-empty  -> read the provider item; if decide_inbound() finds an edit not yet
                             published, publish it instead and do not write (the write would
                             silently overwrite it; core merges it and sends a newer snapshot);
                             otherwise write plan.changes, then link = after_write(link, plan)
    Skip                  -> nothing
    ArchiveProviderCopy   -> through the DeletionGuard, then archive and drop the link
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from tether_events.clock import Ordering, VectorClock
from tether_sync.deletion import ArchiveProviderCopy, on_core_deleted
from tether_sync.fields import (
    FieldName,
    FieldValue,
    TaskFields,
    TaskSnapshot,
    changed_fields,
    coerce_values,
)
from tether_sync.link_state import LinkState


class SkipReason(enum.StrEnum):
    # The snapshot's clock is <= synced_clock: a duplicate, a stale reordering, or content
    # the provider already has.
    ALREADY_REFLECTED = "already_reflected"
    # Concurrent with synced_clock: this link published a change core had not merged when it
    # produced the snapshot. Writing now would revert that edit on the provider; core is bound
    # to merge it and publish a snapshot after both, which is written instead.
    AWAITING_MERGE = "awaiting_merge"


class Skip(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: SkipReason


class WritePlan(BaseModel):
    """The fields to send to the provider (possibly none) and the state once they are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_id: str
    replica: str
    changes: dict[FieldName, FieldValue]
    target: TaskFields
    clock: VectorClock

    @field_validator("changes", mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        return coerce_values(value) if isinstance(value, dict) else value

    @property
    def is_empty(self) -> bool:
        return not self.changes


OutboundDecision = Skip | WritePlan | ArchiveProviderCopy


def decide_outbound(link: LinkState, snapshot: TaskSnapshot) -> OutboundDecision:
    order = snapshot.clock.compare(link.synced_clock)
    if order in (Ordering.BEFORE, Ordering.EQUAL):
        return Skip(reason=SkipReason.ALREADY_REFLECTED)
    if snapshot.deleted:
        # A pending provider edit does not save a deleted task, so no waiting for the merge.
        return on_core_deleted(link)
    if order is Ordering.CONCURRENT:
        return Skip(reason=SkipReason.AWAITING_MERGE)
    target = snapshot.fields
    changes = {n: target.value(n) for n in changed_fields(link.synced_fields, target)}
    return WritePlan(
        link_id=link.link_id,
        replica=link.replica,
        changes=changes,
        target=target,
        clock=snapshot.clock,
    )


def after_write(link: LinkState, plan: WritePlan) -> LinkState:
    """The link once ``plan`` is on the provider (or was empty): the target is the new base."""
    return link.model_copy(
        update={
            "synced_fields": plan.target,
            "synced_clock": link.synced_clock.merge(plan.clock),
        }
    )


def coalesce(snapshots: Iterable[TaskSnapshot]) -> TaskSnapshot:
    """One snapshot standing for several waiting for the same link: the latest.

    Each carries the task's whole state, so the latest includes everything before it. Core
    serialises a task's changes, so its snapshots are totally ordered; should two be
    concurrent anyway, the one with the greater clock sum is kept (whatever the input order)
    with its own clock: a merged clock would claim the provider reflects the other one's
    content, which it will not, so that content would never be written. It reaches the
    provider with a later snapshot.
    """
    candidates = list(snapshots)
    if not candidates:
        raise ValueError("nothing to coalesce")
    latest = [
        s
        for s in candidates
        if not any(o.clock.compare(s.clock) is Ordering.AFTER for o in candidates)
    ]
    return max(latest, key=lambda s: (sum(s.clock.values()), tuple(s.clock.items())))
