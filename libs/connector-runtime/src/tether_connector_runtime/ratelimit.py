"""Client-side rate limiting: several budgets at once, each kept below the provider's limit.

A call names every budget it spends (``token:<t>`` and ``key:<k>`` for Trello); it waits, never
fails, until all of them have room, so a burst of sync work slows down instead of earning 429s
(and Trello blocks a key outright after 200 of those).

Our own count cannot see calls made elsewhere with the same token (another replica, the user's
other apps), so the limiter also listens to the provider: :meth:`Permit.learn` reads a
response's headers. A budget that says where the provider reports it (``Budget.reported_in``)
is held for the provider's window once the provider says nothing is left of it (counting our
calls still in flight); a ``Retry-After`` (seconds or an HTTP date, on any response) holds
every budget the call spent. Headers that are missing or malformed are ignored.

Budgets are in memory, per process. That is enough because each connector replica is given its
share of the provider's limit (``Budget.below(..., replicas=n)``) and stays under it on its own;
no shared store sits on the hot path. The limit of this: replicas do not see each other's
spending or 429 pauses, so the share must be re-set when the replica count changes, and an
uneven spread of tokens across replicas leaves some budget unused. The provider's headers
narrow that gap: a budget spent by others is noticed before it answers 429.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from math import floor, isfinite

import structlog

from tether_connector_runtime.retry import RetryableProviderError

log = structlog.get_logger(__name__)

# How long a call may wait for its budgets, where its caller set a bound (waiting_at_most).
_WAIT_AT_MOST: ContextVar[float | None] = ContextVar("tether_budget_wait_at_most", default=None)


class BudgetSpent(RetryableProviderError):
    """A call's budget has no room for longer than its caller lets it wait
    (:func:`waiting_at_most`); ``retry_after``: seconds until it has."""


@contextmanager
def waiting_at_most(seconds: float | None) -> Iterator[None]:
    """Within the block (this task and what it awaits), a call whose budgets have no room for
    more than ``seconds`` raises :class:`BudgetSpent` at once instead of waiting (None: no
    bound).

    For work that must not hold others up while a budget refills: a consumer's handler waiting
    for one spent token would stall every partition it handles (head-of-line blocking); the
    sync pipeline holds that link's work until the budget has room instead (bursts.py)."""
    token = _WAIT_AT_MOST.set(seconds)
    try:
        yield
    finally:
        _WAIT_AT_MOST.reset(token)


# Epoch seconds are at least this large; smaller numbers in a reset header are durations.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class QuotaHeaders:
    """The response headers in which a provider reports what is left of one of its limits.

    ``remaining``: calls left in the current window. How long the window lasts comes from
    ``window_ms`` (its length in milliseconds, as Trello's ``*-interval-ms``; when it started is
    not said, so a full window from now surely clears it) or ``reset`` (when it ends: seconds,
    epoch seconds or a date, as Jira's ``X-RateLimit-Reset``); without either, the budget's own
    window is used."""

    remaining: str
    window_ms: str | None = None
    reset: str | None = None

    def read(self, headers: Mapping[str, str], *, now: float) -> tuple[int, float | None] | None:
        """(calls left, seconds until the window has surely passed) or ``None`` when the
        headers do not say (absent or malformed). ``headers``: names in lower case."""
        remaining = _count(headers.get(self.remaining.lower()))
        if remaining is None:
            return None
        window = _count(headers.get(self.window_ms.lower())) if self.window_ms else None
        if window:
            return remaining, window / 1000
        resets = headers.get(self.reset.lower()) if self.reset else None
        return remaining, _seconds_until(resets, now) if resets else None


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` calls per sliding ``per_seconds`` window, and optionally at most
    ``max_in_flight`` calls running at once (Asana: 15 writes in flight). ``reported_in``:
    where the provider's responses say what is left of the limit this budget stays under."""

    limit: int
    per_seconds: float
    max_in_flight: int | None = None
    reported_in: QuotaHeaders | None = None

    @classmethod
    def below(
        cls,
        published: int,
        per_seconds: float,
        *,
        safety: float = 0.8,
        replicas: int = 1,
        reported_in: QuotaHeaders | None = None,
    ) -> Budget:
        """A budget under a published limit: leaves headroom for clock skew between us and the
        provider and for calls made outside Tether with the same token."""
        limit = max(1, floor(published * safety / replicas))
        return cls(limit, per_seconds, reported_in=reported_in)


class Permit:
    """One call's spending, handed out by :meth:`RateLimiter.acquire` for its duration."""

    def __init__(self, limiter: RateLimiter, spend: list[tuple[str, Budget]]) -> None:
        self._limiter = limiter
        self._spend = spend

    def learn(self, headers: Mapping[str, str]) -> None:
        """Read the call's response headers (any status): hold a budget the provider says is
        spent, and every budget of the call when it asks us to retry after a while."""
        self._limiter._learn(self._spend, headers)


class RateLimiter:
    """``budgets`` maps a key prefix to its budget; every key starting with the prefix gets its
    own window (``"token:"`` -> one window per token). The longest matching prefix wins.
    ``max_hold`` caps what a provider's header can make us wait, so a bogus value cannot stop
    syncing for good."""

    def __init__(
        self,
        budgets: Mapping[str, Budget | tuple[int, float]],
        *,
        default_penalty: float = 10.0,
        max_hold: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._budgets = {
            prefix: b if isinstance(b, Budget) else Budget(*b) for prefix, b in budgets.items()
        }
        self._default_penalty = default_penalty
        self._max_hold = max_hold
        self._clock = clock
        self._wall_clock = wall_clock
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
    async def acquire(self, *keys: str) -> AsyncIterator[Permit]:
        """Wait until every named budget has room, then spend one call from each.
        :class:`BudgetSpent` when that is longer than the caller allows (waiting_at_most)."""
        spend = [(key, self.budget(key)) for key in keys]
        while True:
            now = self._clock()
            wait = max((self._time_to_wait(k, b, now) for k, b in spend), default=0.0)
            allowed = _WAIT_AT_MOST.get()
            if allowed is not None and wait > allowed:
                raise BudgetSpent(f"rate-limit budget spent for {wait:.1f} s", retry_after=wait)
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
            yield Permit(self, spend)
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

    def _hold(self, key: str, seconds: float, reason: str) -> None:
        seconds = min(seconds, self._max_hold)
        if seconds <= 0:
            return
        # The budget's kind only: keys carry a piece of the user's token.
        log.info("rate_limit_hold", budget=key.split(":", 1)[0], seconds=seconds, reason=reason)
        self.penalize(key, seconds)

    def _learn(self, spend: list[tuple[str, Budget]], headers: Mapping[str, str]) -> None:
        lower = {name.lower(): value.strip() for name, value in headers.items()}
        wall = self._wall_clock()
        retry_after = lower.get("retry-after")
        if retry_after:
            asked = _seconds_until(retry_after, wall)
            if asked is not None:
                for key, _ in spend:
                    self._hold(key, asked, "retry-after")
        for key, budget in spend:
            quota = budget.reported_in.read(lower, now=wall) if budget.reported_in else None
            if quota is None:
                continue
            remaining, window = quota
            # The provider may not have counted our other calls still in flight on this budget.
            if remaining <= self._in_flight.get(key, 1) - 1:
                self._hold(key, budget.per_seconds if window is None else window, "spent")


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
        seconds = _seconds_until(value, now)
        if seconds is not None:
            return seconds
    return default


def _seconds_until(value: str, now: float) -> float | None:
    """A header's "when": seconds from now, epoch seconds, or a date (HTTP or ISO 8601);
    ``None`` when it is none of these."""
    try:
        number = float(value)
    except ValueError:
        at = _parse_date(value)
        return None if at is None else max(0.0, at - now)
    if not isfinite(number):
        return None  # "nan" and "inf" parse as floats but say nothing
    # Large numbers are absolute epoch times; small ones are durations.
    return max(0.0, number - now if number > _EPOCH_THRESHOLD else number)


def _count(value: str | None) -> int | None:
    """A non-negative whole number, or ``None``."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _parse_date(value: str) -> float | None:
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            parsed = parse(value)
        except (TypeError, ValueError, IndexError):
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None
