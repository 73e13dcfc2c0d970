"""The multi-budget rate limiter: waits instead of failing, pauses after 429s."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from tether_connector_runtime.ratelimit import Budget, RateLimiter, penalty_from_headers


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
    return RateLimiter(budgets, clock=t.clock, sleep=t.sleep, default_penalty=7.0)


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
