"""Propagation latency across providers, on tasks linked to Trello, Asana and Jira at once
(:mod:`bench.crossing_world`), at a steady open-loop load (the conventions of
:mod:`bench.latency`):

- **Trello edit -> others**: change ``i`` is a person's edit in Trello (the emulator's control
  API renames task ``i mod tasks``'s card to the change's mark; Trello then sends its signed
  webhook to the Trello connector); it has arrived at Asana (Jira) when that emulator receives
  the first write to the task's copy carrying this mark or a later one. A write of a mark back
  to Trello is an echo;
- **core -> each**: change ``i`` is a gateway ``PATCH`` of the task's title; it has arrived at
  each provider as above.

Latency counts from when the change was due (the generator sends it then, unless it is itself
behind) to the emulator's ``received`` timestamp of the write, both this machine's clock.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import crossing_world
from bench.calls import RequestLog, mark, marked
from bench.crossing_world import PROVIDERS, CrossTask
from bench.latency import DRAIN_SECONDS, IN_FLIGHT, SATURATED_P99
from bench.progress import Progress
from bench.stats import Percentiles, percentiles
from bench.world import LinkedTask
from tether_devinfra.emulators import EmulatorProcess

# A write to one item, per provider: the item's id is the group.
WRITES = {
    "trello": re.compile(r"^/1/cards/([0-9a-f]{24})$"),
    "asana": re.compile(r"^/api/1\.0/tasks/(\d+)$"),
    "jira": re.compile(r"^/rest/api/3/issue/([^/]+)$"),
}
_ID = re.compile(r"/(?=[^/]*\d)[^/]{5,}")  # an id among a path's segments (any provider's)
ORIGINS = {"trello": "Trello edit", "core": "core PATCH"}
FIRST_RUN = 100  # marks' run numbers, clear of the core -> Trello steps' (1, 2, ...)

Arrivals = dict[str, list[tuple[int, float]]]  # item id -> (mark index, received), log order
Act = Callable[[int], Coroutine[Any, Any, tuple[int, float]]]  # change i -> (status, answered at)


@dataclass(frozen=True)
class CrossPlan:
    connections: int  # Asana connections, and as many Jira connections
    tasks: int  # tasks linked to all three providers
    loads: tuple[float, ...]  # changes offered per second, one step each, per origin
    duration: float  # seconds of offered load per step


# A change to a task linked three ways costs three provider writes and their echoes (about ten
# provider calls), some three times the work of a change to a task linked to Trello alone, whose
# latency bends between 10 and 25 changes/s on two cores: the quick step stays below that.
QUICK = CrossPlan(4, 12, (5,), 6)
FULL = CrossPlan(16, 120, (5, 10, 25, 50), 20)


@dataclass
class PathResult:
    target: str  # the provider whose emulator received the writes
    arrived: int  # changes whose effect reached it (0 where the change came from)
    latency: Percentiles  # seconds, from when each change was due to the write's arrival
    writes: int  # writes to the linked items carrying this step's marks
    echo_writes: int  # writes of a mark already written there, or written where it came from
    calls: int  # every call the emulator received from the step's start to its drain
    calls_per_change: float
    kinds: dict[str, int] = field(default_factory=dict)  # "METHOD /path/{id}" -> calls


@dataclass
class CrossRun:
    origin: str  # "trello" (a person's edit in Trello) or "core" (a gateway PATCH)
    rate: float  # changes offered per second
    duration: float  # seconds of offered load
    changes: int
    refused: int  # answers other than 200 (the gateway's, or the emulator's control API's)
    made: Percentiles  # seconds from due to that answer: how late the change itself was made
    drained: bool  # whether every emulator fell quiet within the drain's bound
    paths: list[PathResult] = field(default_factory=list)


@dataclass
class WebhookHealth:
    """An emulator's webhooks at the end of the run: the deliveries that had an attempt
    refused (the connector answered other than 2xx: 503 while a webhook's registration is
    under way, 409 for a delivery already being handled, 401 for a signature it did not
    accept), and each refusal's answer -> how many."""

    held: int  # webhooks registered at the emulator
    deliveries: int  # deliveries sent (the emulator logs the last 10,000)
    refused: int
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class Crossing:
    tasks: int
    connections: dict[str, int]  # provider -> connections the tasks are spread over
    duration: float
    runs: list[CrossRun] = field(default_factory=list)
    webhooks: dict[str, WebhookHealth] = field(default_factory=dict)  # at the run's end
    seconds: float = 0.0  # the whole of it, connections and exports included


def _arrivals(entries: list[dict[str, Any]], provider: str, run: int) -> Arrivals:
    found: Arrivals = defaultdict(list)
    for entry in entries:
        written = WRITES[provider].match(str(entry["path"]))
        if entry["method"] != "PUT" or written is None or not 200 <= entry["status"] < 300:
            continue
        index = marked(entry, run)
        if index is not None:
            found[written.group(1)].append((index, float(entry["received"])))
    return found


def _acts(
    origin: str, api: httpx.AsyncClient, trello: httpx.AsyncClient, tasks: list[CrossTask], run: int
) -> Act:
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def act(i: int) -> tuple[int, float]:
        task = tasks[i % len(tasks)]
        async with limit:
            try:
                if origin == "trello":
                    path = f"/_emulator/cards/{task.items['trello']}/edit"
                    answer = await trello.post(path, json={"name": mark(run, i)})
                else:
                    answer = await api.patch(
                        f"/v1/tasks/{task.task_id}", json={"title": mark(run, i)}
                    )
            except httpx.HTTPError:
                return 0, time.time()
        return answer.status_code, time.time()

    return act


async def _offer(
    act: Act, total: int, rate: float, label: str, say: Progress
) -> tuple[list[float], list[tuple[int, float]]]:
    """Change ``i`` sent at ``start + i / rate`` (open loop): the due times and answers."""
    due: list[float] = []
    sent: list[asyncio.Task[tuple[int, float]]] = []
    say.start(total, label)
    start = time.time() + 0.2
    for i in range(total):
        due.append(start + i / rate)
        delay = due[-1] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(asyncio.create_task(act(i)))
        say.advance()
    answers = await asyncio.gather(*sent)
    say.done()
    return due, answers


async def _drain(
    logs: dict[str, RequestLog], tasks: list[CrossTask], targets: list[str], run: int, total: int
) -> None:
    """Return once each task's last change reached its copy at every target (or after
    :data:`DRAIN_SECONDS`)."""
    last = {tasks[i % len(tasks)].task_id: i for i in range(max(0, total - len(tasks)), total)}
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        if all(_reached(logs[p], p, tasks, run, last) for p in targets):
            return
        await asyncio.sleep(0.2)


def _reached(
    log: RequestLog, provider: str, tasks: list[CrossTask], run: int, last: dict[str, int]
) -> bool:
    arrivals = _arrivals(log.entries, provider, run)
    return all(
        any(index >= last[t.task_id] for index, _ in arrivals.get(t.items[provider], []))
        for t in tasks
        if t.task_id in last
    )


def _path(
    provider: str,
    origin: str,
    tasks: list[CrossTask],
    due: list[float],
    entries: list[dict[str, Any]],
    run: int,
) -> PathResult:
    arrivals = _arrivals(entries, provider, run)
    latencies: list[float] = []
    if provider != origin:
        for i, at in enumerate(due):
            item = tasks[i % len(tasks)].items[provider]
            # The first write at or after this change's mark (arrivals are in log order).
            reached = next((t for index, t in arrivals.get(item, []) if index >= i), None)
            if reached is not None:
                latencies.append(max(0.0, reached - at))
    writes = sum(len(seen) for seen in arrivals.values())
    distinct = len({(item, index) for item, seen in arrivals.items() for index, _ in seen})
    return PathResult(
        target=provider,
        arrived=len(latencies),
        latency=percentiles(latencies),
        writes=writes,
        echo_writes=writes if provider == origin else writes - distinct,
        calls=len(entries),
        calls_per_change=round(len(entries) / max(len(due), 1), 3),
        kinds=dict(Counter(f"{e['method']} {_ID.sub('/{id}', str(e['path']))}" for e in entries)),
    )


async def _all_quiet(logs: dict[str, RequestLog], within: float) -> bool:
    quiet = await asyncio.gather(*(log.quiet(within=within) for log in logs.values()))
    return all(quiet)


async def step(
    api: httpx.AsyncClient,
    trello: httpx.AsyncClient,
    logs: dict[str, RequestLog],
    tasks: list[CrossTask],
    *,
    origin: str,
    run: int,
    rate: float,
    duration: float,
    say: Progress,
) -> CrossRun:
    """One step of ``rate`` changes/s for ``duration`` s from ``origin`` (``trello`` or
    ``core``); run ``run``'s marks; every emulator's calls from the step's start to its drain."""
    await _all_quiet(logs, within=120)
    first = {p: log.last_seq for p, log in logs.items()}
    for log in logs.values():
        log.follow()
    total = int(rate * duration)
    label = f"{ORIGINS[origin]}s, {rate:g}/s for {duration:g} s"
    act = _acts(origin, api, trello, tasks, run)
    due, answers = await _offer(act, total, rate, label, say)
    await _drain(logs, tasks, [p for p in PROVIDERS if p != origin], run, total)
    for log in logs.values():
        await log.stop()
    drained = await _all_quiet(logs, within=DRAIN_SECONDS)
    paths = [_path(p, origin, tasks, due, logs[p].since(first[p]), run) for p in PROVIDERS]
    return CrossRun(
        origin=origin,
        rate=rate,
        duration=duration,
        changes=total,
        refused=sum(1 for status, _ in answers if status != 200),
        made=percentiles(
            [max(0.0, answered - at) for at, (_, answered) in zip(due, answers, strict=True)]
        ),
        drained=drained,
        paths=paths,
    )


async def measure(
    api: httpx.AsyncClient,
    trello: httpx.AsyncClient,
    trello_log: RequestLog,
    others: dict[str, EmulatorProcess],
    linked: list[LinkedTask],
    plan: CrossPlan,
    say: Progress,
) -> Crossing:
    """Connect ``plan.connections`` Asana and Jira accounts (``others``: their emulators), link
    ``plan.tasks`` new tasks to all three providers (Trello: over the boards of ``linked``),
    then measure each load of the plan from each origin."""
    began = time.monotonic()
    boards = list({task.board.board_id: task.board for task in linked}.values())
    async with (
        httpx.AsyncClient(base_url=others["asana"].url, timeout=60) as asana,
        httpx.AsyncClient(base_url=others["jira"].url, timeout=60) as jira,
    ):
        places = await crossing_world.connect(
            api, {"asana": asana, "jira": jira}, plan.connections, say
        )
        tasks = await crossing_world.build(api, boards, places, plan.tasks, say)
        logs = {"trello": trello_log, "asana": RequestLog(asana), "jira": RequestLog(jira)}
        connections = {"trello": len(boards)} | {p: len(found) for p, found in places.items()}
        result = Crossing(len(tasks), connections, plan.duration)
        run = FIRST_RUN
        for rate in plan.loads:
            for origin in ORIGINS:
                done = await step(
                    api, trello, logs, tasks, origin=origin, run=run, rate=rate,
                    duration=plan.duration, say=say,
                )  # fmt: skip
                result.runs.append(done)
                say.note(summary(done))
                run += 1
            if any(p.latency.p99 > SATURATED_P99 for r in result.runs for p in r.paths):
                say.note(f"across providers: saturated at {rate:g}/s, no higher load offered")
                break
        for provider, client in {"trello": trello, "asana": asana, "jira": jira}.items():
            result.webhooks[provider] = await webhook_health(client)
    result.seconds = round(time.monotonic() - began, 1)
    return result


async def webhook_health(emulator: httpx.AsyncClient) -> WebhookHealth:
    """Webhooks the emulator holds, deliveries it sent, and those with an attempt refused."""
    overview = (await emulator.get("/_emulator")).json()
    deliveries = (await emulator.get("/_emulator/webhooks/deliveries")).json()
    refused = [d for d in deliveries if any(not _ok(a) for a in d["attempts"])]
    held = overview.get("webhooks")
    outcomes = Counter(str(a) for d in refused for a in d["attempts"] if not _ok(a))
    return WebhookHealth(
        held if isinstance(held, int) else -1, len(deliveries), len(refused), dict(outcomes)
    )


def _ok(attempt: object) -> bool:
    return isinstance(attempt, int) and 200 <= attempt < 300


def summary(done: CrossRun) -> str:
    """One line of progress: each path's p50 and p99."""
    shown = ", ".join(
        f"-> {p.target} p50 {p.latency.p50 * 1000:.0f} ms p99 {p.latency.p99 * 1000:.0f} ms"
        for p in done.paths
        if p.target != done.origin
    )
    return f"{ORIGINS[done.origin]}s at {done.rate:g}/s: {shown}"


def plan(quick: bool) -> CrossPlan:
    return QUICK if quick else FULL
