"""Isolation: a healthy tenant's propagation latency while another tenant's Trello answers 503,
against the same load with that tenant's Trello up.

Tenants: the healthy one is the benchmark's own (its tasks from world.py, over many tokens);
the failing one a second Tether tenant (:data:`FAILING_TENANT`, its own gateway token minted as
an operator does) with :data:`FAILING_BOARDS` Trello members, boards and connections of its own
and :data:`FAILING_TASKS` tasks exported over them.

Load, the same in both runs: open loop (as latency.py's: change ``i`` is due at
``start + i / rate`` and its latency counts from then), :data:`HEALTHY_RATE` changes/s over the
healthy tenant's tasks and, at the same time, :data:`FAILING_RATE` changes/s over the failing
tenant's, for ``seconds``. Baseline: every board up. Outage: every board of the failing tenant
answers 503 (the emulator's board outages) from just before the load starts until it ends.

"The same load without the failing tenant" is taken as the baseline with that tenant's boards
up: both runs offer the same changes to both tenants and differ only in the 503s, so what moves
is the failure's doing, not the other tenant's ordinary work (which a healthy deployment
carries anyway).

Figures (:class:`Isolation`): each run's healthy-tenant p50/p95/p99 (seconds, from a change's
due time to the first card write carrying it or a later title of its task, as latency.py
counts), the 5xx Trello answered, and ``p99_change = outage p99 / baseline p99 - 1`` (the
issue's target: under 0.2). After each run the failing tenant must catch up (its links park
while Trello fails and retry with a growing backoff): every task's last change written and
every link ``active`` again, within :data:`RECOVERY_SECONDS`; how long that took from the load's
end is reported, so later steps start clean.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx

from bench import latency, stack
from bench.calls import RequestLog, mark, marked
from bench.progress import Progress
from bench.stats import Percentiles, percentiles
from bench.world import LinkedTask, active_card, add_board, create_task, request_export

FAILING_TENANT = "bench-failing"
FAILING_BOARDS, FAILING_TASKS = 4, 8
BOARD_INDEX = 20_000  # the members' names: bench20000... (world.py's boards count from 0)
HEALTHY_RATE, FAILING_RATE = 8.0, 2.0  # changes/s: under this machine's knee (10-25/s) together
RUN = 910  # marks: RUN + 2 * outage for the healthy tenant, one more for the failing one
DRAIN_SECONDS = 60.0  # how long the healthy tenant may take to catch up after the load
RECOVERY_SECONDS = 150.0  # the failing tenant's bound (its retries back off up to 60 s)

Arrivals = dict[str, list[tuple[int, float]]]  # card -> (mark index, received), in log order


@dataclass(frozen=True)
class Tenant:
    name: str
    token: str
    tasks: list[LinkedTask]


@dataclass(frozen=True)
class IsolationRun:
    outage: bool  # whether the failing tenant's boards answered 503
    seconds: float  # of offered load
    healthy_rate: float  # changes/s
    failing_rate: float
    load_average: float  # this machine's 1-minute load average as the run started
    changes: int  # offered to the healthy tenant
    refused: int  # gateway answers other than 200, both tenants
    arrived: int  # healthy tenant's changes that reached Trello
    latency: Percentiles  # healthy tenant's, seconds
    failing_changes: int
    failing_arrived: int
    answered_5xx: int  # Trello's 5xx answers from the load's start to the end of recovery
    recovered: bool  # every failing tenant's task's last change written, its links active
    recovery_seconds: float | None  # load's end -> the failing tenant's last write


@dataclass(frozen=True)
class Isolation:
    tenants: int
    healthy_tasks: int
    failing_tasks: int
    failing_boards: int
    baseline: IsolationRun
    outage: IsolationRun
    p99_change: float  # outage p99 / baseline p99 - 1


@dataclass
class _Offered:
    due: list[float]
    statuses: list[int]


def _client(system: stack.Stack, token: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=latency.IN_FLIGHT, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(
        base_url=system.gateway_url, headers=headers, timeout=60, limits=limits
    )


async def prepare(system: stack.Stack, trello: httpx.AsyncClient, say: Progress) -> Tenant:
    """The failing tenant: a token of its own, its boards and connections, its tasks."""
    database_url = system.gateway_database_url or system.database_url
    if database_url is None:
        raise RuntimeError("the stack does not say where the gateway's database is")
    say.note(f"isolation: a second tenant with {FAILING_BOARDS} boards and {FAILING_TASKS} tasks")
    token = await asyncio.to_thread(stack.mint_token, database_url, FAILING_TENANT)
    async with _client(system, token) as api:
        boards = [await add_board(api, trello, BOARD_INDEX + n) for n in range(FAILING_BOARDS)]

        async def one(n: int) -> LinkedTask:
            board = boards[n % len(boards)]
            task_id = await create_task(api, f"failing tenant's task {n}")
            await request_export(api, task_id, board)
            return LinkedTask(task_id, await active_card(api, task_id), board)

        tasks = list(await asyncio.gather(*(one(n) for n in range(FAILING_TASKS))))
    return Tenant(FAILING_TENANT, token, tasks)


async def measure(
    system: stack.Stack,
    api: httpx.AsyncClient,
    log: RequestLog,
    healthy: list[LinkedTask],
    failing: Tenant,
    seconds: float,
    say: Progress,
) -> Isolation:
    """The baseline run, then the outage run (``seconds`` of load each)."""
    async with _client(system, failing.token) as failing_api:
        runs = []
        for outage in (False, True):
            runs.append(
                await _one_run(api, failing_api, log, healthy, failing, outage, seconds, say)
            )
            r = runs[-1]
            say.note(
                f"isolation, {'outage' if outage else 'baseline'}: healthy p99 "
                f"{r.latency.p99 * 1000:.0f} ms; failing tenant recovered: {r.recovered}"
            )
    base, out = runs
    change = out.latency.p99 / base.latency.p99 - 1 if base.latency.p99 else float("nan")
    return Isolation(
        2, len(healthy), len(failing.tasks), FAILING_BOARDS, base, out, change
    )  # fmt: skip


async def _one_run(
    api: httpx.AsyncClient,
    failing_api: httpx.AsyncClient,
    log: RequestLog,
    healthy: list[LinkedTask],
    failing: Tenant,
    outage: bool,
    seconds: float,
    say: Progress,
) -> IsolationRun:
    run = RUN + 2 * outage
    await log.quiet(within=120)
    load_average = os.getloadavg()[0]
    first_seq = log.last_seq
    log.follow()
    boards = sorted({t.board.board_id for t in failing.tasks})
    if outage:
        await _outages(log.emulator, boards)
    try:
        say.start(int(HEALTHY_RATE * seconds), f"isolation: {'outage' if outage else 'baseline'}")
        offered, offered_failing = await asyncio.gather(
            _open_loop(api, healthy, run, HEALTHY_RATE, seconds, say),
            _open_loop(failing_api, failing.tasks, run + 1, FAILING_RATE, seconds, None),
        )
        say.done()
    finally:
        if outage:
            (await log.emulator.delete("/_emulator/outages")).raise_for_status()
    ended = time.time()
    await _caught_up(log, healthy, run, len(offered.due), DRAIN_SECONDS)
    last = await _caught_up(log, failing.tasks, run + 1, len(offered_failing.due), RECOVERY_SECONDS)
    active = last is not None and await _links_active(failing_api, failing.tasks)
    await log.stop()
    entries = log.since(first_seq)
    arrivals = _arrivals(entries, run)
    latencies = _latencies(offered.due, healthy, arrivals)
    failing_arrived = _latencies(offered_failing.due, failing.tasks, _arrivals(entries, run + 1))
    return IsolationRun(
        outage=outage,
        seconds=seconds,
        healthy_rate=HEALTHY_RATE,
        failing_rate=FAILING_RATE,
        load_average=round(load_average, 2),
        changes=len(offered.due),
        refused=sum(1 for s in offered.statuses + offered_failing.statuses if s != 200),
        arrived=len(latencies),
        latency=percentiles(latencies),
        failing_changes=len(offered_failing.due),
        failing_arrived=len(failing_arrived),
        answered_5xx=sum(1 for e in entries if int(e["status"]) >= 500),
        recovered=active,
        recovery_seconds=None if last is None else max(0.0, last - ended),
    )


async def _outages(trello: httpx.AsyncClient, boards: list[str]) -> None:
    """Every API call concerning one of ``boards`` answers 503 until the outages end."""
    for board_id in boards:
        started = await trello.post("/_emulator/outages", json={"boardId": board_id, "status": 503})
        started.raise_for_status()


async def _open_loop(
    api: httpx.AsyncClient,
    tasks: list[LinkedTask],
    run: int,
    rate: float,
    seconds: float,
    say: Progress | None,
) -> _Offered:
    """Change ``i`` (task ``i mod len(tasks)``, title its mark) sent at ``start + i / rate``."""
    limit = asyncio.Semaphore(latency.IN_FLIGHT)
    due: list[float] = []
    sent: list[asyncio.Task[int]] = []
    start = time.time() + 0.2
    for i in range(int(rate * seconds)):
        due.append(start + i / rate)
        delay = due[-1] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = tasks[i % len(tasks)]
        sent.append(asyncio.create_task(latency.patch_title(api, task, mark(run, i), limit)))
        if say is not None:
            say.advance()
    return _Offered(due, list(await asyncio.gather(*sent)))


def _arrivals(entries: list[dict[str, Any]], run: int) -> Arrivals:
    """Per card, the marks of ``run`` successfully written and when each write came in."""
    found: Arrivals = defaultdict(list)
    for entry in entries:
        path = str(entry["path"])
        if entry["method"] != "PUT" or not path.startswith("/1/cards/") or entry["status"] != 200:
            continue
        index = marked(entry, run)
        if index is not None:
            found[path.split("/")[3]].append((index, float(entry["received"])))
    return found


def _latencies(due: list[float], tasks: list[LinkedTask], arrivals: Arrivals) -> list[float]:
    """Seconds from each change's due time to the first write carrying it or a later mark."""
    out: list[float] = []
    for i, at in enumerate(due):
        card = tasks[i % len(tasks)].card_id
        reached = next((t for index, t in arrivals.get(card, []) if index >= i), None)
        if reached is not None:
            out.append(max(0.0, reached - at))
    return out


async def _caught_up(
    log: RequestLog, tasks: list[LinkedTask], run: int, total: int, within: float
) -> float | None:
    """When the last of the tasks' final changes reached its card (the log being followed), or
    None when one had not within ``within`` seconds."""
    finals = {tasks[i % len(tasks)].card_id: i for i in range(max(0, total - len(tasks)), total)}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        arrivals = _arrivals(log.entries, run)
        reached = [
            next((t for index, t in arrivals.get(card, []) if index >= want), None)
            for card, want in finals.items()
        ]
        if all(t is not None for t in reached):
            return max((t for t in reached if t is not None), default=time.time())
        if loop.time() > deadline:
            return None
        await asyncio.sleep(0.2)


async def _links_active(
    api: httpx.AsyncClient, tasks: list[LinkedTask], within: float = 30
) -> bool:
    """Whether every task's link says ``active`` again (polled up to ``within`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        states = [(await api.get(f"/v1/tasks/{t.task_id}/links")).json() for t in tasks]
        if all(links and links[0]["status"] == "active" for links in states):
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.5)


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.0f} ms"  # NaN: no sample


def markdown(result: Isolation) -> list[str]:
    """The figure's lines for latest.md."""
    lines = [
        "| isolation: the healthy tenant's changes | changes | arrived | p50 | p95 | p99 "
        "| other tenant's changes | arrived | Trello 5xx | it caught up after | load avg. |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in (result.baseline, result.outage):
        what = "while the other tenant's boards answer 503" if r.outage else "baseline"
        after = "-" if r.recovery_seconds is None else f"{r.recovery_seconds:.1f} s"
        lines.append(
            f"| {what} | {r.changes} | {r.arrived} | {_ms(r.latency.p50)} "
            f"| {_ms(r.latency.p95)} | {_ms(r.latency.p99)} | {r.failing_changes} "
            f"| {r.failing_arrived} | {r.answered_5xx} | {after} | {r.load_average:g} |"
        )
    b = result.baseline
    lines += [
        "",
        f"Both runs: {b.healthy_rate:g} changes/s over the healthy tenant's "
        f"{result.healthy_tasks} tasks and {b.failing_rate:g}/s over the other tenant's "
        f"{result.failing_tasks} tasks ({result.failing_boards} boards), {b.seconds:g} s. "
        f"The failing tenant moved the healthy tenant's p99 by {result.p99_change * 100:+.0f}% "
        "(target: under 20%).",
    ]
    return lines
