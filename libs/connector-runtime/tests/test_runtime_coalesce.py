"""Per-key coalescing: bursts collapse, the last state is written, keys stay ordered."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest

from tether_connector_runtime.coalesce import CoalescingQueue


class Provider:
    """A slow provider that records every write and how many overlap."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.writes: dict[str, list[Any]] = defaultdict(list)
        self.active: dict[str, int] = defaultdict(int)
        self.running = 0
        self.peak = 0
        self.peak_per_key = 0
        self.fail_keys: set[str] = set()

    async def write(self, key: str, item: Any) -> None:
        self.active[key] += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.peak_per_key = max(self.peak_per_key, self.active[key])
        try:
            await asyncio.sleep(self.delay)
            if key in self.fail_keys:
                raise RuntimeError(f"provider refused {key}")
            self.writes[key].append(item)
        finally:
            self.active[key] -= 1
            self.running -= 1


async def test_fifty_rapid_changes_make_few_writes_and_the_last_state_wins() -> None:
    provider = Provider()
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write)
    futures = []
    for state in range(50):
        futures.append(queue.submit("link-1", state))
        await asyncio.sleep(0)  # changes arrive one by one while a write is in flight
    await queue.drain()
    writes = provider.writes["link-1"]
    assert len(writes) <= 3
    assert writes[-1] == 49
    assert writes == sorted(writes)  # never an older state after a newer one
    assert all(f.done() and f.exception() is None for f in futures)
    assert provider.peak_per_key == 1


async def test_merge_combines_pending_changes() -> None:
    provider = Provider()

    def merge(older: dict[str, str], newer: dict[str, str]) -> dict[str, str]:
        return {**older, **newer}

    queue: CoalescingQueue[str, dict[str, str]] = CoalescingQueue(provider.write, merge=merge)
    first = queue.submit("l", {"title": "a"})
    await asyncio.sleep(0.001)  # the first write is now in flight
    queue.submit("l", {"title": "b"})
    queue.submit("l", {"due": "2026-05-01"})
    assert queue.pending("l") == {"title": "b", "due": "2026-05-01"}
    await queue.drain()
    assert provider.writes["l"] == [{"title": "a"}, {"title": "b", "due": "2026-05-01"}]
    assert first.result() is None


async def test_awaiting_a_submission_waits_for_its_write() -> None:
    provider = Provider()
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write)
    await queue.submit("l", 1)
    assert provider.writes["l"] == [1]


async def test_concurrency_across_keys_is_bounded() -> None:
    provider = Provider()
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write, max_concurrency=2)
    for n in range(6):
        queue.submit(f"link-{n}", n)
    await queue.drain()
    assert provider.peak == 2
    assert sorted(k for k, v in provider.writes.items() if v) == [f"link-{n}" for n in range(6)]


async def test_a_failed_write_fails_its_futures_and_spares_other_keys() -> None:
    provider = Provider()
    provider.fail_keys.add("bad")
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write)
    bad = queue.submit("bad", 1)
    good = queue.submit("good", 2)
    with pytest.raises(RuntimeError, match="provider refused bad"):
        await bad
    await good
    provider.fail_keys.clear()
    await queue.submit("bad", 3)  # the key works again afterwards
    assert provider.writes == {"good": [2], "bad": [3]}


async def test_unawaited_failures_do_not_leak_warnings() -> None:
    provider = Provider()
    provider.fail_keys.add("bad")
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write)
    queue.submit("bad", 1)
    await queue.drain()  # filterwarnings=error would turn a leaked exception into a failure


async def test_drain_refuses_new_work() -> None:
    queue: CoalescingQueue[str, int] = CoalescingQueue(Provider().write)
    await queue.drain()
    with pytest.raises(RuntimeError, match="draining"):
        queue.submit("l", 1)


async def test_cancel_abandons_pending_work() -> None:
    provider = Provider(delay=10.0)
    queue: CoalescingQueue[str, int] = CoalescingQueue(provider.write)
    in_flight = queue.submit("l", 1)
    await asyncio.sleep(0.001)
    waiting = queue.submit("l", 2)
    await queue.cancel()
    assert in_flight.cancelled()
    assert waiting.cancelled()
    assert provider.writes == {}
