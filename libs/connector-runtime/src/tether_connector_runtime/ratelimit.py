"""Client-side rate limiting: several budgets at once, each kept below the provider's limit.

A call names every budget it spends (``token:<t>`` and ``key:<k>`` for Trello); it waits, never
fails, until all of them have room, so a burst of sync work slows down instead of earning 429s
(and Trello blocks a key outright after 200 of those).

Budgets are in memory, per process. That is enough because each connector replica is given its
share of the provider's limit (``Budget.below(..., replicas=n)``) and stays under it on its own;
no shared store sits on the hot path. The limit of this: replicas do not see each other's
spending or 429 pauses, so the share must be re-set when the replica count changes, and an
uneven spread of tokens across replicas leaves some budget unused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from math import floor


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` calls per sliding ``per_seconds`` window, and optionally at most
    ``max_in_flight`` calls running at once (Asana: 15 writes in flight)."""

    limit: int
    per_seconds: float
    max_in_flight: int | None = None

    @classmethod
    def below(
        cls, published: int, per_seconds: float, *, safety: float = 0.8, replicas: int = 1
    ) -> Budget:
        """A budget under a published limit: leaves headroom for clock skew between us and the
        provider and for calls made outside Tether with the same token."""
        return cls(max(1, floor(published * safety / replicas)), per_seconds)


class RateLimiter:
    """``budgets`` maps a key prefix to its budget; every key starting with the prefix gets its
    own window (``"token:"`` -> one window per token). The longest matching prefix wins."""

    def __init__(
        self,
        budgets: Mapping[str, Budget | tuple[int, float]],
        *,
        default_penalty: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._budgets = {
            prefix: b if isinstance(b, Budget) else Budget(*b) for prefix, b in budgets.items()
        }
        self._default_penalty = default_penalty
        self._clock = clock
        self._sleep = sleep
        self._calls: dict[str, deque[float]] = {}
        self._paused_until: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}
        self._released = asyncio.Condition()

    def budget(self, key: str) -> Budget:
        matches = [p for p in self._budgets if key.startswith(p)]
        if not matches:
            raise ValueError(f"no rate-limit budget covers {key!r}")
        return self._budgets[max(matches, key=len)]

    def _time_to_wait(self, key: str, budget: Budget, now: float) -> float:
        wait = self._paused_until.get(key, now) - now
        calls = self._calls.get(key)
        if calls:
            while calls and calls[0] <= now - budget.per_seconds:
                calls.popleft()  # outside the window: forget it (keeps memory bounded)
            if len(calls) >= budget.limit:
                wait = max(wait, calls[0] + budget.per_seconds - now)
        return max(0.0, wait)

    def _full(self, key: str, budget: Budget) -> bool:
        return budget.max_in_flight is not None and self._in_flight.get(key, 0) >= (
            budget.max_in_flight
        )

    @asynccontextmanager
    async def acquire(self, *keys: str) -> AsyncIterator[None]:
        """Wait until every named budget has room, then spend one call from each."""
        spend = [(key, self.budget(key)) for key in keys]
        while True:
            now = self._clock()
            wait = max((self._time_to_wait(k, b, now) for k, b in spend), default=0.0)
            if wait > 0:
                await self._sleep(wait)
            elif any(self._full(k, b) for k, b in spend):
                async with self._released:
                    await self._released.wait()
            else:
                break
        # No await between the check above and this bookkeeping, so no other task can slip in.
        for key, _ in spend:
            self._calls.setdefault(key, deque()).append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            for key, _ in spend:
                self._in_flight[key] -= 1
            async with self._released:
                self._released.notify_all()

    def penalize(self, key: str, seconds: float | None = None) -> None:
        """Pause one budget after a 429: for ``seconds`` (from the response's headers, see
        :func:`penalty_from_headers`) or, when the provider said nothing, the default."""
        seconds = self._default_penalty if seconds is None else seconds
        until = self._clock() + max(0.0, seconds)
        self._paused_until[key] = max(self._paused_until.get(key, until), until)


def penalty_from_headers(
    headers: Mapping[str, str], *, default: float | None = None, now: float | None = None
) -> float | None:
    """Seconds a 429 asks us to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``X-RateLimit-Reset`` (epoch seconds, seconds from now, or ISO 8601 as Jira sends), else
    ``default`` (Trello sends neither). ``now``: wall-clock epoch seconds, for tests."""
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    now = time.time() if now is None else now
    for name in ("retry-after", "x-ratelimit-reset"):
        value = lower.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            at = _parse_date(value)
            if at is not None:
                return max(0.0, at - now)
            continue
        # Large numbers are absolute epoch times; small ones are durations.
        return max(0.0, number - now if number > 1_000_000_000 else number)
    return default


def _parse_date(value: str) -> float | None:
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            parsed = parse(value)
        except (TypeError, ValueError, IndexError):
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None
