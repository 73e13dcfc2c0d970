"""The embedded bus's log in an SQLite file: what a crash (kill -9) and a restart keep.

A "restart" opens a new store and bus over the same file while the old bus is left as a killed
process leaves it: never stopped, its handler stuck mid-event. Waits are on events the
handlers set, never on time; ``wait_for`` deadlines only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tether_events import CloudEvent, encode
from tether_events.inprocess import InProcessBus
from tether_events.sqlitelog import SqliteLogStore
from tether_events.testing import task_changed as event

TOPIC = "ns.tether.task-changed.v1"
DEADLINE = 60.0


class Recorder:
    """A handler keeping ``(subject, version)`` of what it handled; ``reached(n)`` is set once
    it handled ``n`` events. An event for which ``dies_on`` is true never returns: the process
    is "killed" while handling it (``stuck`` is set)."""

    def __init__(self, dies_on: Callable[[CloudEvent[Any]], bool] = lambda e: False) -> None:
        self.seen: list[tuple[str, int]] = []
        self.stuck = asyncio.Event()
        self._dies_on = dies_on
        self._waiting: dict[int, asyncio.Event] = {}

    async def __call__(self, e: CloudEvent[Any]) -> None:
        if self._dies_on(e):
            self.stuck.set()
            await asyncio.Event().wait()
        self.seen.append((e.subject, e.data.version))
        for n, reached in self._waiting.items():
            if len(self.seen) >= n:
                reached.set()

    async def reached(self, n: int) -> None:
        reached = self._waiting.setdefault(n, asyncio.Event())
        if len(self.seen) >= n:
            reached.set()
        await asyncio.wait_for(reached.wait(), DEADLINE)


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[SqliteLogStore]:
    store = SqliteLogStore(path)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def started(bus: InProcessBus[SqliteLogStore]) -> AsyncIterator[None]:
    """A running bus; stopped only on leaving, i.e. after the test's "restart" looked."""
    await bus.start()
    try:
        yield
    finally:
        await bus.stop()


def version_is(n: int) -> Callable[[CloudEvent[Any]], bool]:
    return lambda e: bool(e.data.version == n)


async def test_a_restart_after_a_crash_delivers_exactly_what_was_not_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bus.db"
    crashed = Recorder(dies_on=version_is(4))
    async with opened(path) as before:
        bus = InProcessBus(before)
        bus.subscribe([TOPIC], "g", crashed)
        async with started(bus):
            for n in range(1, 7):
                await bus.publish(TOPIC, event("a", n))
            await asyncio.wait_for(crashed.stuck.wait(), DEADLINE)

            async with opened(path) as after:
                # Events 1-3 were handled (each committed before the next was handed over).
                assert await after.committed(TOPIC, "g") == 3
                restarted = Recorder()
                again = InProcessBus(after)
                again.subscribe([TOPIC], "g", restarted)
                async with started(again):
                    await restarted.reached(3)
                # The log is read in order: a committed event delivered again would come first.
                assert restarted.seen == [("a", 4), ("a", 5), ("a", 6)]
    assert crashed.seen == [("a", 1), ("a", 2), ("a", 3)]


async def test_each_consumer_group_resumes_from_its_own_offset(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    # Each group is stuck on an event, so everything before it was committed.
    fast, slow = Recorder(dies_on=version_is(6)), Recorder(dies_on=version_is(2))
    async with opened(path) as before:
        await before.append(TOPIC, *(encode(event("a", n)) for n in range(1, 7)))
        bus = InProcessBus(before)
        bus.subscribe([TOPIC], "fast", fast)
        bus.subscribe([TOPIC], "slow", slow)
        async with started(bus):
            await asyncio.wait_for(fast.stuck.wait(), DEADLINE)
            await asyncio.wait_for(slow.stuck.wait(), DEADLINE)

            async with opened(path) as after:
                assert await after.committed(TOPIC, "fast") == 5
                assert await after.committed(TOPIC, "slow") == 1
                fast_after, slow_after = Recorder(), Recorder()
                again = InProcessBus(after)
                again.subscribe([TOPIC], "fast", fast_after)
                again.subscribe([TOPIC], "slow", slow_after)
                async with started(again):
                    # A new event closes both groups' sequences: whatever came before it is
                    # everything the restart delivered.
                    await again.publish(TOPIC, event("a", 7))
                    await fast_after.reached(2)
                    await slow_after.reached(6)
                assert fast_after.seen == [("a", 6), ("a", 7)]
                assert slow_after.seen == [("a", n) for n in range(2, 8)]


def by_subject(e: CloudEvent[Any]) -> str:
    return e.subject


async def test_coalescing_commits_only_what_a_handled_event_stands_for(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    burst = [event("a", 1), event("a", 2), event("b", 1), event("b", 2), event("c", 1)]
    crashed = Recorder(dies_on=lambda e: e.subject == "b")
    async with opened(path) as before:
        # Appended at once, before any consumer runs: the whole burst is one batch.
        await before.append(TOPIC, *map(encode, burst))
        bus = InProcessBus(before)
        bus.subscribe([TOPIC], "co", crashed, coalesce_by=by_subject)
        async with started(bus):
            await asyncio.wait_for(crashed.stuck.wait(), DEADLINE)

            async with opened(path) as after:
                # a2 (standing for a1 too) was handled; b1 was skipped for the b2 in hand, so
                # the commit stops before it.
                assert crashed.seen == [("a", 2)]
                assert await after.committed(TOPIC, "co") == 2
                restarted = Recorder()
                committed_at_sentinel: list[int] = []

                async def handle(e: CloudEvent[Any]) -> None:
                    if e.subject == "z":
                        committed_at_sentinel.append(await after.committed(TOPIC, "co"))
                    await restarted(e)

                again = InProcessBus(after)
                again.subscribe([TOPIC], "co", handle, coalesce_by=by_subject)
                async with started(again):
                    await again.publish(TOPIC, event("z", 1))
                    await restarted.reached(3)
                assert restarted.seen == [("b", 2), ("c", 1), ("z", 1)]
                # Handing over z, the whole burst was committed (and written to the file
                # first: the in-memory offset follows the disk, never leads it).
                assert committed_at_sentinel == [len(burst)]


async def test_records_and_offsets_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bus.db"  # the directory is created
    async with opened(path) as first:
        await first.append("t1", b"r0", b"r1")
        await first.append("t2", b"x0")
        await first.commit("t1", "g", 1)
        async with opened(path) as second:
            assert await second.read("t1", 0, 10) == [b"r0", b"r1"]
            assert await second.read("t2", 0, 10) == [b"x0"]
            assert await second.read("t3", 0, 10) == []
            # Offsets continue where the file ends, per topic.
            await second.append("t1", b"r2", b"r3")
            assert await second.read("t1", 1, 2) == [b"r1", b"r2"]
            assert await second.read("t1", 4, 10) == []
            assert await second.committed("t1", "g") == 1
            await second.commit("t1", "g", 3)
            await second.commit("t1", "g", 2)  # offsets never go back
            await second.commit("t1", "other", 1)
    async with opened(path) as third:
        assert await third.read("t1", 0, 10) == [b"r0", b"r1", b"r2", b"r3"]
        assert await third.committed("t1", "g") == 3
        assert await third.committed("t1", "other") == 1
        assert await third.committed("t2", "g") == 0


# Appends bursts of 3 records ("0", "1", ...) forever, committing group "g" behind them, and
# prints how many records are on disk after each burst.
CHILD = """
import asyncio, sys
from tether_events.sqlitelog import SqliteLogStore

async def main() -> None:
    store = SqliteLogStore(sys.argv[1])
    appended = 0
    while True:
        await store.append("burst", *(b"%d" % i for i in range(appended, appended + 3)))
        appended += 3
        await store.commit("burst", "g", appended - 1)
        print(appended, flush=True)

asyncio.run(main())
"""


async def test_a_process_killed_mid_burst_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    acknowledged = 0

    async def until_acknowledged(n: int) -> None:
        nonlocal acknowledged
        assert child.stdout is not None
        while acknowledged < n:
            line = await child.stdout.readline()
            assert line, "the child ended before it was killed"
            acknowledged = int(line)

    try:
        await asyncio.wait_for(until_acknowledged(300), DEADLINE)
    finally:
        child.kill()  # SIGKILL: no clean-up runs, whatever the child was doing
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    async with opened(path) as store:
        records = await store.read("burst", 0, 1_000_000)
        # Every acknowledged record is there, in order, and bursts are whole: a burst cut by
        # the kill is either all in or all out.
        assert len(records) >= acknowledged
        assert len(records) % 3 == 0
        assert records == [b"%d" % i for i in range(len(records))]
        assert await store.committed("burst", "g") >= acknowledged - 1
