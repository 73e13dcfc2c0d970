"""The burst window: a task edited many times in a moment costs each of its items two writes,
not one per edit.

The first change after a quiet spell is written at once. A change that arrives within
``window`` seconds of the link's last write is held: kept as the link's parked work (durable,
with no error and no time limit), and the newest state held goes in one write when the window
ends (a state is whole, so the newest stands for all; parking.keep_newer). The retrier makes
that write (retries.py), woken for it rather than at its next poll. Twenty edits within a
second are then two writes per link, and a provider's budget is spent on what people see.

Held work differs from a failure's parked work only in having no time limit
(``retry_until`` is None): nothing is announced for it, and it is never given up. When to
hold is known from this process's own writes; a task's changes come through one partition, so
one replica writes its links (after a rebalance or a restart, the first change is written at
once, as after a quiet spell).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import tasks
from tether_connector_runtime.store.repository import StoredLink
from tether_events import TaskChanged

if TYPE_CHECKING:
    from tether_connector_runtime.pipeline.context import Pipeline

BUDGET_HELD = Counter(
    "tether_connector_writes_held_for_budget_total",
    "Writes held until their rate-limit budget has room, rather than waited for",
    ["provider"],
)
HELD = Counter(
    "tether_connector_changes_held_total",
    "Task changes held for the end of their link's burst window (written together)",
    ["provider"],
)


class Bursts:
    """When each link was last written by this process, and when held writes fall due.

    ``window``: seconds after a link's write during which its next changes are held
    (0: never)."""

    def __init__(
        self, window: float = 0.0, on_write: Callable[[datetime], None] | None = None
    ) -> None:
        self.window = timedelta(seconds=window)
        # Told of every completed write: the one place after a provider's answer outside
        # writes.py, where the propagation latency is observed (propagation.py).
        self.on_write = on_write
        self._written: dict[str, datetime] = {}
        self._due: list[datetime] = []  # a heap of held writes' due times
        self._held = asyncio.Event()

    def wrote(self, link_id: str, at: datetime) -> None:
        """The link's item was written at ``at``."""
        if self.on_write is not None:
            self.on_write(at)
        if not self.window:
            return
        self._written[link_id] = at
        if len(self._written) > 4096:  # forget links whose window has passed
            self._written = {k: t for k, t in self._written.items() if t + self.window > at}

    def held_until(self, link_id: str, now: datetime) -> datetime | None:
        """The end of the link's burst window, if ``now`` is within it."""
        written = self._written.get(link_id)
        if written is None or not self.window:
            return None
        until = written + self.window
        return until if now < until else None

    def held(self, until: datetime) -> None:
        heapq.heappush(self._due, until)
        self._held.set()

    async def wait(self, interval: float, now: datetime) -> None:
        """Sleep ``interval`` seconds, or until the earliest held write falls due, or until a
        write is held (whose due may be sooner)."""
        while self._due and self._due[0] <= now:
            heapq.heappop(self._due)
        timeout = interval
        if self._due:
            timeout = min(interval, (self._due[0] - now).total_seconds())
        try:
            async with asyncio.timeout(timeout):
                await self._held.wait()
        except TimeoutError:
            pass
        self._held.clear()


async def hold(p: Pipeline, session: AsyncSession, link: StoredLink, task: TaskChanged) -> bool:
    """Hold ``task`` for ``link`` if the link is within its burst window (in the caller's
    transaction, which has the link's row locked); True when held."""
    if link.status != "active" or task.deleted:
        return False  # a deletion is carried out at once; other states are not written now
    until = p.bursts.held_until(link.link_id, p.now())
    if until is None:
        return False
    await p.repo.hold(session, link.link_id, task=tasks.to_json(task), until=until)
    p.bursts.held(until)
    HELD.labels(p.provider).inc()
    return True


async def hold_for_budget(p: Pipeline, link_id: str, task: TaskChanged, seconds: float) -> None:
    """The write's rate-limit budget has no room for ``seconds`` (ratelimit.BudgetSpent): its
    work is held until then rather than waited for, so no other link waits behind it. Work
    parked after a failure stays a bounded retry, only due no sooner than the budget allows."""
    until = p.now() + timedelta(seconds=seconds)
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None:
            return
        parked = link.parked
        if parked is not None:
            task = tasks.newer(tasks.from_json(parked.task), task)
        if parked is not None and parked.retry_until is not None:
            await p.repo.park(
                session,
                link_id,
                task=tasks.to_json(task),
                attempts=parked.attempts,
                next_attempt_at=max(until, parked.next_attempt_at or until),
                retry_until=parked.retry_until,
                error=parked.last_error,
            )
        else:
            await p.repo.hold(session, link_id, task=tasks.to_json(task), until=until)
    p.bursts.held(until)
    BUDGET_HELD.labels(p.provider).inc()
