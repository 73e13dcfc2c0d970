"""What every stage of the pipeline works with, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_connector_runtime.connections import Connections
from tether_connector_runtime.deletions import DeletionBrake
from tether_connector_runtime.links_cache import LinksOfTask
from tether_connector_runtime.outbox import ConnectorOutbox
from tether_connector_runtime.pipeline.bursts import Bursts
from tether_connector_runtime.placements_cache import Placements
from tether_connector_runtime.port import ProviderAdapter
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.turns import LinkTurns

# Tasks whose links a pipeline keeps unless told otherwise (settings: links_cache_size).
LINKS_CACHED = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetrySchedule:
    """How long a link waits before its next try, and for how long it keeps trying.

    ``base``: seconds before the first retry, doubling per try up to ``cap``; ``limit``:
    seconds from the first failure after which the work is given up (the link fails)."""

    base: float = 1.0
    cap: float = 60.0
    limit: float = 86_400.0

    def delay(self, attempts: int, asked: float | None) -> float:
        backoff: float = min(self.cap, self.base * 2.0 ** max(0, attempts - 1))
        # The provider's own word (Retry-After, a spent rate-limit window) is a floor.
        return max(backoff, asked or 0.0)


@dataclass
class Pipeline:
    """The connector's sync pipeline for one provider: its store, outbox, adapter and rules."""

    provider: str
    sessions: async_sessionmaker[AsyncSession]
    repo: ConnectorRepository
    adapter: ProviderAdapter
    connections: Connections
    outbox: ConnectorOutbox
    brake: DeletionBrake
    namespace: str = ""
    retry: RetrySchedule = field(default_factory=RetrySchedule)
    # How long before an expiring webhook's end it is refreshed (pipeline/watching.py).
    webhook_renewal_margin: timedelta = timedelta(days=15)
    # How long a claim to register a webhook holds when its holder never gives it back (it
    # crashed inside the provider's call): longer than any registration takes.
    webhook_claim_lease: timedelta = timedelta(minutes=5)
    turns: LinkTurns = field(default_factory=LinkTurns)
    bursts: Bursts = field(default_factory=Bursts)  # no burst window unless configured
    # Seconds a write may wait for its rate-limit budget before its work is held (bursts.py);
    # None: it waits as long as it takes.
    budget_wait: float | None = None
    now: Callable[[], datetime] = utcnow
    # Which links each task has here, for the task changes that ask (links_cache.py).
    links_of_task: LinksOfTask = field(default_factory=lambda: LinksOfTask(LINKS_CACHED))
    # Where each export target points, per connection (placements_cache.py).
    placements: Placements = field(default_factory=Placements)

    @property
    def source(self) -> str:
        return f"/tether/{self.provider}-connector"
