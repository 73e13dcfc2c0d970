"""Propagation latency at a steady offered load: core -> Trello.

Open loop: change ``i`` is due at ``start + i / rate`` whatever became of the ones before (a
slow system is not offered less), and its latency is counted from when it was due, so a
backlog in the load generator itself counts against us, never for us. Change ``i`` is a
gateway ``PATCH`` of task ``i mod tasks`` setting the title to its mark; it has arrived when
the Trello emulator receives the first write to that task's card carrying this mark or a later
one (a later title carries this change's effect too: a connector may coalesce).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.calls import RequestLog, kinds, mark, marked
from bench.progress import Progress
from bench.stats import Percentiles, percentiles
from bench.world import LinkedTask

IN_FLIGHT = 512  # gateway requests the generator keeps open at most
DRAIN_SECONDS = 60.0  # how long a step may take to catch up after its load ends


@dataclass
class LoadResult:
    rate: float  # changes offered per second
    duration: float  # seconds of offered load
    changes: int
    refused: int  # gateway answers other than 200
    arrived: int  # changes whose effect reached Trello
    latency: Percentiles  # seconds, from when each change was due
    provider_calls: int  # every call Trello received from the change's first to the drain
    writes: int  # card writes among them
    writes_marked: int  # distinct marks written (the fewest writes that carry every change)
    echo_writes: int  # writes of a mark already written
    drained: bool  # whether the system caught up within the drain's bound
    kinds: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per change (bench/cpu.py)

    @property
    def calls_per_change(self) -> float:
        return self.provider_calls / max(self.changes, 1)

    @property
    def write_amplification(self) -> float:
        return self.writes / max(self.writes_marked, 1)


# A step whose p99 passes this many seconds, or that did not catch up, is saturated: the plan
# offers no higher load after it.
SATURATED_P99 = 5.0


def saturated(result: LoadResult) -> bool:
    return not result.drained or result.latency.p99 > SATURATED_P99


async def patch_title(
    api: httpx.AsyncClient, task: LinkedTask, title: str, limit: asyncio.Semaphore
) -> int:
    """The gateway's status for a PATCH of the task's title (0: no answer came)."""
    async with limit:
        try:
            answer = await api.patch(f"/v1/tasks/{task.task_id}", json={"title": title})
        except httpx.HTTPError:
            return 0
        return answer.status_code


async def offer(
    api: httpx.AsyncClient,
    log: RequestLog,
    tasks: list[LinkedTask],
    *,
    run: int,
    rate: float,
    duration: float,
    say: Progress,
) -> LoadResult:
    await log.quiet(within=120)
    first_seq = log.last_seq
    log.follow()
    total = int(rate * duration)
    limit = asyncio.Semaphore(IN_FLIGHT)
    due: list[float] = []
    sent: list[asyncio.Task[int]] = []
    say.start(total, f"{rate:g} changes/s for {duration:g} s")
    start = time.time() + 0.2
    for i in range(total):
        at = start + i / rate
        due.append(at)
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = tasks[i % len(tasks)]
        sent.append(asyncio.create_task(patch_title(api, task, mark(run, i), limit)))
        say.advance()
    statuses = await asyncio.gather(*sent)
    say.done()
    arrivals = await _drain(log, tasks, run, total)
    await log.stop()
    drained = await log.quiet(within=DRAIN_SECONDS)
    entries = log.since(first_seq)
    return _result(rate, duration, tasks, run, due, statuses, entries, arrivals, drained)


async def _drain(
    log: RequestLog, tasks: list[LinkedTask], run: int, total: int, within: float = DRAIN_SECONDS
) -> dict[str, list[tuple[int, float]]]:
    """Wait until each task's last change reached its card (or ``within`` passed): per card,
    the marks written and when each write came in."""
    last = {tasks[i % len(tasks)].card_id: i for i in range(max(0, total - len(tasks)), total)}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        arrivals = _arrivals(log.entries, run)
        if all(any(i >= want for i, _ in arrivals.get(card, [])) for card, want in last.items()):
            return arrivals
        if loop.time() > deadline:
            return arrivals
        await asyncio.sleep(0.2)


def _arrivals(entries: list[dict[str, Any]], run: int) -> dict[str, list[tuple[int, float]]]:
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for entry in entries:
        if entry["method"] != "PUT" or not str(entry["path"]).startswith("/1/cards/"):
            continue
        index = marked(entry, run)
        if index is not None and entry["status"] == 200:
            found[str(entry["path"]).split("/")[3]].append((index, float(entry["received"])))
    return found


def _result(
    rate: float,
    duration: float,
    tasks: list[LinkedTask],
    run: int,
    due: list[float],
    statuses: list[int],
    entries: list[dict[str, Any]],
    arrivals: dict[str, list[tuple[int, float]]],
    drained: bool,
) -> LoadResult:
    latencies: list[float] = []
    for i, at in enumerate(due):
        card = tasks[i % len(tasks)].card_id
        # The first write at or after this change's mark (arrivals are in log order).
        reached = next((t for index, t in arrivals.get(card, []) if index >= i), None)
        if reached is not None:
            latencies.append(max(0.0, reached - at))
    writes = [a for card in arrivals.values() for a in card]
    distinct = {(card, index) for card, seen in arrivals.items() for index, _ in seen}
    return LoadResult(
        rate=rate,
        duration=duration,
        changes=len(due),
        refused=sum(1 for s in statuses if s != 200),
        arrived=len(latencies),
        latency=percentiles(latencies),
        provider_calls=len(entries),
        writes=len(writes),
        writes_marked=len(distinct),
        echo_writes=len(writes) - len(distinct),
        drained=drained,
        kinds=kinds(entries),
    )
