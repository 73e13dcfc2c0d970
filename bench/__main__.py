"""``python -m bench [--quick] [--embedded]``: run the benchmarks and write the results.

``make bench`` runs the full plan (loads of 10, 25, 50, 100, 200 and 400 changes/s, 30 s
each); ``make bench-quick`` a short one (10 and 25 changes/s, 8 s each; under 3 minutes on
a quiet machine). Both also run propagation across providers (crossing.py), the rate-limited
work through one Trello token (quick: 60 changes, full: 1,000; ratelimited.py) and the
isolation of a healthy tenant from one whose Trello answers 503 (quick: 6 s per run, full:
60 s; isolation.py), and measure CPU per change at each load (cpu.py). Results
go to ``bench/results/`` (``latest.json``, ``latest.md``, ``latency.png``, ``calls.png``).
"""

from __future__ import annotations

import asyncio
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from bench import (
    costs,
    cpu,
    crossing,
    isolation,
    latency,
    ratelimited,
    raw,
    readme,
    report,
    stack,
    world,
)
from bench.calls import RequestLog
from bench.memory import peaks
from bench.progress import Progress

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Plan:
    boards: int
    tasks: int
    loads: tuple[float, ...]
    duration: float
    samples: int
    full_board_cards: int
    burst_edits: int
    raw_samples: int
    limited_changes: int = 100  # changes through one Trello token (ratelimited.py)
    isolation_seconds: float = 15  # of load per isolation run (isolation.py)


# The low steps show the unloaded latency and where it bends; the steps go on from 50.
# Quick: the two steps either side of where two cores saturate, and shorter isolation runs.
QUICK = Plan(20, 60, (10, 25), 8, 2, 5000, 20, 200, 60, 6)
FULL = Plan(160, 400, (10, 25, 50, 100, 200, 400), 30, 10, 5000, 20, 500, 1000, 60)


async def _run(plan: Plan, embedded: bool, out: Path, say: Progress) -> dict[str, Any]:
    began = time.monotonic()
    conditions: dict[str, Any] = {
        "mode": "embedded" if embedded else "distributed",
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "boards": plan.boards,
        "tasks": plan.tasks,
        "duration": plan.duration,
        "loads": list(plan.loads),
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as scratch:
        run_dir = Path(scratch)
        starting = stack.embedded if embedded else stack.distributed
        say.note(f"starting the {conditions['mode']} stack and the Trello emulator")
        async with starting(run_dir) as system:
            results = await _measure(system, plan, run_dir, say)
            results["memory"] = peaks(system.pid_files)
    conditions["seconds"] = round(time.monotonic() - began, 1)
    return {"conditions": conditions, **results}


async def _measure(system: stack.Stack, plan: Plan, run_dir: Path, say: Progress) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {system.token}"}
    limits = httpx.Limits(max_connections=latency.IN_FLIGHT, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(
            base_url=system.gateway_url, headers=headers, timeout=60, limits=limits
        ) as api,
        httpx.AsyncClient(base_url=system.trello.url, timeout=60) as trello,
    ):
        tasks = await world.build(api, trello, plan.boards, plan.tasks, say)
        one_token = await ratelimited.prepare(api, trello, say)
        failing = await isolation.prepare(system, trello, say)
        log = RequestLog(trello)
        say.note("provider calls per change, one change at a time")
        measured = [
            await costs.core_edits(api, log, tasks[0], plan.samples),
            await costs.person_edits(api, trello, log, tasks[1], plan.samples),
            await costs.exports(api, log, tasks[2].board, plan.samples),
            await costs.export_to_a_full_board(
                api, trello, log, plan.boards, plan.full_board_cards, say
            ),
            await costs.burst(api, log, tasks[3], plan.burst_edits),
        ]
        runs = []
        for run, rate in enumerate(plan.loads, start=1):
            before = cpu.snapshot(system.pid_files)
            runs.append(
                await latency.offer(
                    api, log, tasks, run=run, rate=rate, duration=plan.duration, say=say
                )
            )
            runs[-1].cpu_ms = cpu.per_change(
                before, cpu.snapshot(system.pid_files), runs[-1].changes
            )
            r = runs[-1]
            say.note(
                f"{rate:g}/s: p50 {r.latency.p50 * 1000:.0f} ms, p99 "
                f"{r.latency.p99 * 1000:.0f} ms, {r.calls_per_change:.2f} calls/change"
            )
            if latency.saturated(r):
                # Higher loads would only pile up a backlog the later figures would wait for.
                say.note(f"saturated at {rate:g}/s: higher loads are not offered")
                break
        say.note("propagation across providers, on tasks linked to Trello, Asana and Jira")
        crossed = await crossing.measure(
            api, trello, log, system.others, tasks, crossing.plan(plan is QUICK), say
        )
        limited = await ratelimited.measure(api, log, one_token, plan.limited_changes, say)
        isolated = await isolation.measure(
            system, api, log, tasks, failing, plan.isolation_seconds, say
        )
    results: dict[str, Any] = {"costs": measured, "latency": runs, "raw": None}
    results["loads_not_offered"] = list(plan.loads[len(runs) :])
    results |= {"crossing": crossed, "rate_limited": limited, "isolation": isolated}
    if system.kafka_bootstrap_servers and system.database_url:
        say.note("the raw stack: Kafka round trip, bare HTTP, one PostgreSQL commit")
        results["raw"] = await raw.measure(
            system.kafka_bootstrap_servers, system.database_url, run_dir, plan.raw_samples
        )
    return results


def main(
    quick: Annotated[bool, typer.Option(help="the short plan (under 3 minutes)")] = False,
    embedded: Annotated[bool, typer.Option(help="measure `tether run` (one process)")] = False,
    out: Annotated[Path, typer.Option(help="where the results go")] = RESULTS,
) -> None:
    """Run the benchmarks; print the table and write the results under ``out``."""
    say = Progress()
    results = asyncio.run(_run(QUICK if quick else FULL, embedded, out, say))
    written = report.write_all(results, out)
    say.console.print(report.markdown(results))
    say.note("wrote " + ", ".join(str(p) for p in written))
    if out.resolve() == RESULTS.resolve():
        readme.main()  # the README shows the committed results' figures


if __name__ == "__main__":
    typer.run(main)
