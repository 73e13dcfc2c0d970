"""The multi-budget rate limiter: waits instead of failing, pauses after 429s, and listens to
what the provider's headers say is left."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from tether_connector_runtime.ratelimit import (
    Budget,
    BudgetSpent,
    QuotaHeaders,
    RateLimiter,
    penalty_from_headers,
    waiting_at_most,
)


class FakeTime:
    """A clock that only moves when someone sleeps, so waits are exact and instant."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limiter(t: FakeTime, budgets: dict[str, Budget | tuple[int, float]]) -> RateLimiter:
    return RateLimiter(
        budgets, clock=t.clock, sleep=t.sleep, wall_clock=lambda: NOW + t.now, default_penalty=7.0
    )


async def spend(lim: RateLimiter, *keys: str) -> None:
    async with lim.acquire(*keys):
        pass


def test_budget_below_published_limit() -> None:
    assert Budget.below(100, 10.0) == Budget(80, 10.0)
    assert Budget.below(300, 10.0, safety=0.9, replicas=3) == Budget(90, 10.0)
    assert Budget.below(1, 10.0, replicas=5).limit == 1  # never zero


async def test_waits_until_the_window_has_room() -> None:
    t = FakeTime()
    lim = limiter(t, {"token:": (3, 10.0)})
    for _ in range(3):
        await spend(lim, "token:a")
    assert t.slept == []
    t.now += 4.0
    await spend(lim, "token:a")  # the 4th call waits for the 1st to leave the window
    assert t.slept == [pytest.approx(6.0)]


async def test_a_caller_that_may_wait_only_briefly_is_told_how_long_instead() -> None:
    t = FakeTime()
    lim = limiter(t, {"token:": (2, 10.0)})
    await spend(lim, "token:a")
    t.now += 4.0
    await spend(lim, "token:a")
    with waiting_at_most(0.5), pytest.raises(BudgetSpent) as spent:
        await spend(lim, "token:a")
    assert spent.value.retry_after == pytest.approx(6.0)
    assert t.slept == [], "nothing was waited for, nothing spent"
    t.now += 5.7
    with waiting_at_most(0.5):
        await spend(lim, "token:a")  # 0.3 s is within the bound: waited for
    assert t.slept == [pytest.approx(0.3)]
    with pytest.raises(BudgetSpent), waiting_at_most(0.0):
        await spend(lim, "token:a")
    await spend(lim, "token:a")  # outside the block, a call waits as long as it takes
    assert len(t.slept) == 2


async def test_every_budget_must_have_room() -> None:
    t = FakeTime()
    lim = limiter(t, {"token:": (2, 10.0), "key:": (3, 10.0)})
    await spend(lim, "token:a", "key:k")
    await spend(lim, "token:a", "key:k")
    await spend(lim, "token:b", "key:k")  # another token: its own window, key still has room
    assert t.slept == []
    await spend(lim, "token:c", "key:k")  # a fresh token, but the shared key is spent
    assert sum(t.slept) == pytest.approx(10.0)


async def test_tokens_have_separate_windows() -> None:
    t = FakeTime()
    lim = limiter(t, {"token:": (1, 10.0)})
    await spend(lim, "token:a")
    await spend(lim, "token:b")
    assert t.slept == []


async def test_longest_prefix_wins_and_unknown_keys_are_refused() -> None:
    lim = RateLimiter({"token:": (80, 10.0), "token:members:": (75, 900.0)})
    assert lim.budget("token:members:x") == Budget(75, 900.0)
    assert lim.budget("token:x") == Budget(80, 10.0)
    with pytest.raises(ValueError, match="no rate-limit budget"):
        lim.budget("other")


async def test_penalize_pauses_one_budget() -> None:
    t = FakeTime()
    lim = limiter(t, {"token:": (100, 10.0), "key:": (100, 10.0)})
    lim.penalize("token:a", 5.0)
    await spend(lim, "token:b", "key:k")  # not paused
    assert t.slept == []
    await spend(lim, "token:a", "key:k")
    assert t.slept == [pytest.approx(5.0)]


async def test_penalize_without_seconds_uses_the_default_and_never_shortens() -> None:
    t = FakeTime()
    lim = limiter(t, {"key:": (100, 10.0)})
    lim.penalize("key:k")
    lim.penalize("key:k", 1.0)  # a shorter pause does not cut the longer one
    await spend(lim, "key:k")
    assert t.slept == [pytest.approx(7.0)]


async def test_max_in_flight_limits_concurrent_calls() -> None:
    lim = RateLimiter({"write:": Budget(100, 10.0, max_in_flight=1)})
    running = 0
    peak = 0

    async def call() -> None:
        nonlocal running, peak
        async with lim.acquire("write:a"):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(call() for _ in range(4)))
    assert peak == 1


async def test_a_failing_call_still_frees_its_slot() -> None:
    lim = RateLimiter({"write:": Budget(100, 10.0, max_in_flight=1)})
    with pytest.raises(RuntimeError):
        async with lim.acquire("write:a"):
            raise RuntimeError("boom")
    await asyncio.wait_for(spend(lim, "write:a"), timeout=1.0)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 30, UTC), True)}, 30.0),
        ({"X-RateLimit-Reset": str(int(NOW + 45))}, 45.0),
        ({"X-RateLimit-Reset": "20"}, 20.0),
        ({"X-RateLimit-Reset": datetime.fromtimestamp(NOW + 60, UTC).isoformat()}, 60.0),
        ({"Retry-After": "3", "X-RateLimit-Reset": "99"}, 3.0),
        ({"Retry-After": str(int(NOW - 5))}, 0.0),
        ({"Retry-After": "soon"}, 10.0),
        ({}, 10.0),
    ],
)
def test_penalty_from_headers(headers: dict[str, str], expected: float) -> None:
    assert penalty_from_headers(headers, default=10.0, now=NOW) == pytest.approx(expected)


def test_penalty_from_headers_without_default() -> None:
    assert penalty_from_headers({}) is None


# Learning from response headers ----------------------------------------------------------------

TOKEN_HEADERS = QuotaHeaders(
    "x-rate-limit-api-token-remaining", window_ms="x-rate-limit-api-token-interval-ms"
)
JIRA_HEADERS = QuotaHeaders("X-RateLimit-Remaining", reset="X-RateLimit-Reset")


def reported(t: FakeTime, **extra: Budget) -> RateLimiter:
    budgets: dict[str, Budget | tuple[int, float]] = {
        "token:": Budget(80, 10.0, reported_in=TOKEN_HEADERS),
        "key:": Budget(240, 10.0),
        **extra,
    }
    return limiter(t, budgets)


async def call(lim: RateLimiter, headers: dict[str, str], *keys: str) -> None:
    async with lim.acquire(*keys) as permit:
        permit.learn(headers)


def trello_headers(remaining: str, interval: str = "10000") -> dict[str, str]:
    return {
        "X-Rate-Limit-Api-Token-Remaining": remaining,
        "X-Rate-Limit-Api-Token-Interval-Ms": interval,
        "X-Rate-Limit-Api-Token-Max": "100",
    }


async def test_a_spent_budget_is_held_for_the_reported_window_though_ours_has_room() -> None:
    t = FakeTime()
    lim = reported(t)
    await call(lim, trello_headers("1"), "token:a", "key:k")
    await call(lim, trello_headers("0"), "token:a", "key:k")  # others spent this token
    assert t.slept == []
    await spend(lim, "token:a", "key:k")
    assert t.slept == [pytest.approx(10.0)]  # one full window: when it began is not said
    await spend(lim, "token:b", "key:k")  # another token, and the key, were not held
    assert t.slept == [pytest.approx(10.0)]


async def test_budgets_without_reported_headers_ignore_them() -> None:
    t = FakeTime()
    lim = reported(t)
    await call(lim, {"x-rate-limit-api-key-remaining": "0"}, "token:a", "key:k")
    await spend(lim, "key:k")
    assert t.slept == []


async def test_calls_still_in_flight_count_against_what_is_left() -> None:
    t = FakeTime()
    lim = reported(t)
    async with lim.acquire("token:a"), lim.acquire("token:a") as second:
        # 1 left, but the first call is still out there: it will take that one.
        second.learn(trello_headers("1"))
    await spend(lim, "token:a")
    assert t.slept == [pytest.approx(10.0)]


async def test_a_reset_header_says_how_long_to_hold() -> None:
    t = FakeTime()
    lim = reported(t, **{"jira:": Budget(80, 60.0, reported_in=JIRA_HEADERS)})
    reset_at = str(int(NOW + t.now + 42))
    await call(lim, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_at}, "jira:site")
    await spend(lim, "jira:site")
    assert t.slept == [pytest.approx(42.0, abs=1.0)]


async def test_without_a_window_the_budgets_own_is_used() -> None:
    t = FakeTime()
    lim = reported(t, **{"jira:": Budget(80, 60.0, reported_in=JIRA_HEADERS)})
    await call(lim, {"X-RateLimit-Remaining": "0"}, "jira:site")
    await spend(lim, "jira:site")
    assert t.slept == [pytest.approx(60.0)]


@pytest.mark.parametrize(
    "retry_after", ["30", format_datetime(datetime.fromtimestamp(NOW + 1000 + 30, UTC), True)]
)
async def test_retry_after_holds_every_budget_the_call_spent(retry_after: str) -> None:
    t = FakeTime()
    lim = reported(t)
    await call(lim, {"Retry-After": retry_after}, "token:a", "key:k")
    await spend(lim, "key:k")
    assert t.slept == [pytest.approx(30.0)]
    await spend(lim, "token:a")
    assert t.slept == [pytest.approx(30.0)]  # held as long, and that time has passed


async def test_a_later_response_never_shortens_a_hold() -> None:
    t = FakeTime()
    lim = reported(t)
    async with lim.acquire("token:a") as slower:
        await call(lim, {"Retry-After": "30"}, "token:a")
        slower.learn({"Retry-After": "5", **trello_headers("50")})  # answered after it
    await spend(lim, "token:a")
    assert t.slept == [pytest.approx(30.0)]


async def test_holds_are_capped() -> None:
    t = FakeTime()
    lim = RateLimiter(
        {"token:": Budget(80, 10.0)},
        clock=t.clock,
        sleep=t.sleep,
        wall_clock=lambda: NOW + t.now,
        max_hold=120.0,
    )
    await call(lim, {"Retry-After": "86400"}, "token:a")
    await spend(lim, "token:a")
    assert t.slept == [pytest.approx(120.0)]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Rate-Limit-Api-Token-Remaining": "plenty"},
        {"X-Rate-Limit-Api-Token-Remaining": "-1"},
        {"X-Rate-Limit-Api-Token-Remaining": "0.5"},
        {"X-Rate-Limit-Api-Token-Remaining": ""},
        {"X-Rate-Limit-Api-Token-Remaining": "12", "X-Rate-Limit-Api-Token-Interval-Ms": "x"},
        {"Retry-After": "later"},
        {"Retry-After": "nan"},
        {"Retry-After": "-5"},
        {"Retry-After": "0"},
        {"Retry-After": format_datetime(datetime.fromtimestamp(NOW - 60, UTC), True)},
        {"X-Something-Remaining": "0", "X-RateLimit-Reset": "99"},
    ],
)
async def test_unknown_or_malformed_headers_change_nothing(headers: dict[str, str]) -> None:
    t = FakeTime()
    lim = reported(t)
    await call(lim, headers, "token:a", "key:k")
    await spend(lim, "token:a", "key:k")
    assert t.slept == []


async def test_a_spent_budget_with_a_malformed_window_waits_the_budgets_own() -> None:
    t = FakeTime()
    lim = reported(t)
    await call(lim, trello_headers("0", interval="soon"), "token:a")
    await spend(lim, "token:a")
    assert t.slept == [pytest.approx(10.0)]
