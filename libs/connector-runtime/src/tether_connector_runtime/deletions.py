"""The deletion brake: the sync engine's DeletionGuard, remembered in the connector's database.

Each deletion a connector is about to propagate (a provider item gone -> unlink in core; a core
task deleted -> archive the provider copy) passes :meth:`DeletionBrake.admit` first. The guard's
memory (recent deletions per connection, held ones, a person's approval window) lives in the
``<provider>_deletions`` table and the connection row, so every replica of a connector and every
restart sees the same count, and a held deletion waits until someone confirms it.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from prometheus_client import Counter
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_connector_runtime.store.tables import ConnectorTables
from tether_sync import (
    ArchiveProviderCopy,
    DeletionDecision,
    DeletionGuard,
    DeletionPaused,
    GuardConfig,
    guard_deletion,
)

log = structlog.get_logger(__name__)

DELETIONS = Counter(
    "tether_connector_deletions_total",
    "Deletions a connector was asked to propagate, by what became of them",
    ["provider", "direction", "outcome"],  # outcome: propagated | held | confirmed | withdrawn
)


class Direction(enum.StrEnum):
    PROVIDER = "provider"  # the provider item went away: unlink and flag the core task
    CORE = "core"  # the core task was deleted: archive the provider copy


def direction_of(decision: DeletionDecision) -> Direction:
    return Direction.CORE if isinstance(decision, ArchiveProviderCopy) else Direction.PROVIDER


@dataclass(frozen=True)
class HeldDeletion:
    link_id: str
    direction: Direction
    held_at: datetime


@dataclass(frozen=True)
class DeletionStatus:
    connection_id: str
    paused: bool
    held: list[HeldDeletion]
    approved_until: datetime | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeletionBrake:
    def __init__(
        self,
        tables: ConnectorTables,
        sessions: async_sessionmaker[AsyncSession],
        provider: str,
        config: GuardConfig,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._t = tables
        self._sessions = sessions
        self._provider = provider
        self._config = config
        self._now = now
        # Counting then recording must not interleave. Across replicas the connection row's
        # lock (PostgreSQL) serialises it; within a process this lock does, which is all
        # SQLite (embedded mode, one process) needs: it ignores FOR UPDATE.
        self._lock = asyncio.Lock()

    async def admit(self, connection_id: str, decision: DeletionDecision) -> bool:
        """True: propagate ``decision`` now (recorded as done). False: it is held until a
        person confirms (recorded as held). A redelivered decision gets its first answer."""
        async with self._lock, transaction(self._sessions) as session:
            return await self._admit(session, connection_id, decision)

    async def _admit(
        self, session: AsyncSession, connection_id: str, decision: DeletionDecision
    ) -> bool:
        d = self._t.deletions
        direction = direction_of(decision)
        known = (
            await session.execute(
                select(d.c.status).where(
                    d.c.link_id == decision.link_id, d.c.direction == direction
                )
            )
        ).first()
        if known is not None:
            return bool(known.status == "done")
        # Lock the connection: concurrent deletions of one account are counted one by one.
        c = self._t.connections
        account = (
            await session.execute(
                select(c.c.deletions_approved_until)
                .where(c.c.id == connection_id)
                .with_for_update()
            )
        ).first()
        now = self._now()
        guard = await self._guard(session, connection_id, account, now)
        verdict, _ = guard_deletion(guard, connection_id, decision, now)
        held = isinstance(verdict, DeletionPaused)
        await session.execute(
            insert(d).values(
                id=f"{direction}:{decision.link_id}",
                connection_id=connection_id,
                link_id=decision.link_id,
                direction=direction,
                status="held" if held else "done",
                at=now,
            )
        )
        DELETIONS.labels(self._provider, direction, "held" if held else "propagated").inc()
        if held:
            log.warning(
                "deletion_held",
                connection_id=connection_id,
                link_id=decision.link_id,
                direction=str(direction),
                recent=verdict.recent_count if isinstance(verdict, DeletionPaused) else None,
            )
        return not held

    async def _guard(
        self, session: AsyncSession, connection_id: str, account: object, now: datetime
    ) -> DeletionGuard:
        d = self._t.deletions
        horizon = now - self._config.window
        rows = await session.execute(
            select(d.c.at, d.c.status).where(
                d.c.connection_id == connection_id,
                (d.c.status == "held") | (d.c.at > horizon),
            )
        )
        recent: list[datetime] = []
        paused = False
        for at, status in rows:
            if status == "held":
                paused = True
            else:
                recent.append(at)
        approved = getattr(account, "deletions_approved_until", None)
        return DeletionGuard(
            config=self._config,
            recent={connection_id: tuple(sorted(recent))},
            paused=frozenset({connection_id}) if paused else frozenset(),
            approved_until={connection_id: approved} if approved is not None else {},
        )

    async def status(self, session: AsyncSession, connection_id: str) -> DeletionStatus:
        d = self._t.deletions
        rows = await session.execute(
            select(d.c.link_id, d.c.direction, d.c.at)
            .where(d.c.connection_id == connection_id, d.c.status == "held")
            .order_by(d.c.at, d.c.link_id)
        )
        held = [HeldDeletion(r.link_id, Direction(r.direction), r.at) for r in rows]
        c = self._t.connections
        approved = (
            await session.execute(
                select(c.c.deletions_approved_until).where(c.c.id == connection_id)
            )
        ).scalar()
        if approved is not None and approved <= self._now():
            approved = None
        return DeletionStatus(connection_id, bool(held), held, approved)

    async def approve(self, session: AsyncSession, connection_id: str) -> list[HeldDeletion]:
        """A person confirmed: the account proceeds unchecked for one window; returns what was
        held, for the caller to propagate and then :meth:`done` one by one."""
        c = self._t.connections
        await session.execute(
            update(c)
            .where(c.c.id == connection_id)
            .values(deletions_approved_until=self._now() + self._config.window)
        )
        return (await self.status(session, connection_id)).held

    async def done(self, session: AsyncSession, held: HeldDeletion) -> None:
        d = self._t.deletions
        await session.execute(
            update(d)
            .where(d.c.link_id == held.link_id, d.c.direction == held.direction)
            .values(status="done", at=self._now())
        )
        DELETIONS.labels(self._provider, held.direction, "confirmed").inc()

    async def withdraw(self, session: AsyncSession, held: HeldDeletion) -> None:
        """The deletion no longer applies (the item came back before anyone confirmed)."""
        d = self._t.deletions
        await session.execute(
            delete(d).where(d.c.link_id == held.link_id, d.c.direction == held.direction)
        )
        DELETIONS.labels(self._provider, held.direction, "withdrawn").inc()


__all__ = [
    "DeletionBrake",
    "DeletionStatus",
    "Direction",
    "GuardConfig",
    "HeldDeletion",
    "direction_of",
]
