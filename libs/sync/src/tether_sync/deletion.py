"""Deletions: never destructive by default, and a brake on bursts.

A delete is the one change a merge cannot undo, and a burst of them is more often a bug, a
partial fetch or a revoked permission than a person's intent; so a provider-side delete only
unlinks, a core delete archives recoverably, and a burst from one account waits for a person.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tether_sync.link_state import LinkState


class UnlinkAndFlag(BaseModel):
    """Provider copy gone: drop the link and flag the core task for review; keep the task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    link_id: str
    replica: str


class ArchiveProviderCopy(BaseModel):
    """Core task deleted: archive/trash the provider copy (recoverable), then drop the link."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    link_id: str
    replica: str


def on_provider_deleted(link: LinkState) -> UnlinkAndFlag:
    return UnlinkAndFlag(task_id=link.task_id, link_id=link.link_id, replica=link.replica)


def on_core_deleted(link: LinkState) -> ArchiveProviderCopy:
    return ArchiveProviderCopy(task_id=link.task_id, link_id=link.link_id, replica=link.replica)


DeletionDecision = UnlinkAndFlag | ArchiveProviderCopy


class Verdict(enum.StrEnum):
    PROCEED = "proceed"
    PAUSED = "paused"


class DeletionPaused(BaseModel):
    """Propagation of deletions from ``account`` is paused until a person confirms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    held: DeletionDecision
    recent_count: int


class GuardConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(default=10, ge=1, description="Deletions allowed per window")
    window: timedelta = timedelta(minutes=5)


class DeletionGuard(BaseModel):
    """Counts deletions per account in a sliding window (immutable; time is passed in).

    The deletion that would exceed ``threshold`` within ``window`` pauses the account: it and
    every later one answer PAUSED until ``confirm``. A confirmation approves the burst, so the
    account proceeds unchecked for one more window while the held deletions are replayed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    config: GuardConfig = GuardConfig()
    recent: Mapping[str, tuple[AwareDatetime, ...]] = Field(default_factory=dict)
    paused: frozenset[str] = frozenset()
    approved_until: Mapping[str, AwareDatetime] = Field(default_factory=dict)

    def admit(self, account: str, now: datetime) -> tuple[Verdict, DeletionGuard]:
        if account in self.paused:
            return Verdict.PAUSED, self
        if now < self.approved_until.get(account, now):
            return Verdict.PROCEED, self
        horizon = now - self.config.window
        times = (*(t for t in self.recent.get(account, ()) if t > horizon), now)
        recent = {**self.recent, account: times}
        if len(times) > self.config.threshold:
            return Verdict.PAUSED, self.model_copy(
                update={"recent": recent, "paused": self.paused | {account}}
            )
        return Verdict.PROCEED, self.model_copy(update={"recent": recent})

    def confirm(self, account: str, now: datetime) -> DeletionGuard:
        recent = {k: v for k, v in self.recent.items() if k != account}
        approved = {**self.approved_until, account: now + self.config.window}
        return self.model_copy(
            update={
                "recent": recent,
                "paused": self.paused - {account},
                "approved_until": approved,
            }
        )

    def is_paused(self, account: str) -> bool:
        return account in self.paused


def guard_deletion(
    guard: DeletionGuard, account: str, decision: DeletionDecision, now: datetime
) -> tuple[DeletionDecision | DeletionPaused, DeletionGuard]:
    """Pass ``decision`` through the guard: the decision itself, or a held one to confirm."""
    verdict, guard = guard.admit(account, now)
    if verdict is Verdict.PAUSED:
        count = len(guard.recent.get(account, ()))
        return DeletionPaused(account=account, held=decision, recent_count=count), guard
    return decision, guard
