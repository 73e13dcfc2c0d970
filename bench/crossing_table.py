"""The Markdown table of propagation across providers (:mod:`bench.crossing`)."""

from __future__ import annotations

import math

from bench.crossing import ORIGINS, Crossing, CrossRun, PathResult

NAMES = {"trello": "Trello", "asana": "Asana", "jira": "Jira"}


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def _row(run: CrossRun, path: PathResult) -> str:
    source = path.target == run.origin
    where = f"{NAMES[path.target]} (the source)" if source else NAMES[path.target]
    late = "-" if source else None
    shown = [
        late or str(path.arrived),
        late or _ms(path.latency.p50),
        late or _ms(path.latency.p95),
        late or _ms(path.latency.p99),
    ]
    return (
        f"| {ORIGINS[run.origin]} | {run.rate:g}/s | {run.changes} | {where} | "
        + " | ".join(shown)
        + f" | {path.writes} | {path.echo_writes} | {path.calls_per_change:.2f} |"
    )


def lines(crossing: Crossing) -> list[str]:
    """The table (a row per step and provider), then how late the changes themselves were
    made (due -> answered, counted in the latency)."""
    c = crossing.connections
    table = [
        f"Across providers: {crossing.tasks} tasks each linked to Trello, Asana and Jira "
        f"({c['trello']} Trello, {c['asana']} Asana, {c['jira']} Jira connections), "
        f"{crossing.duration:g} s per load step, {crossing.seconds:g} s in all.",
        "",
        "| change | offered load | changes | arrives at | arrived | p50 | p95 | p99 | writes "
        "| echo writes | calls/change there |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for run in crossing.runs:
        table += [_row(run, path) for path in run.paths]
    made = "; ".join(
        f"{ORIGINS[r.origin]}s at {r.rate:g}/s {_ms(r.made.p99)}"
        + (f" ({r.refused} refused)" if r.refused else "")
        + ("" if r.drained else " (not drained)")
        for r in crossing.runs
    )
    hooks = "; ".join(
        f"{NAMES[p]} {h.held} held, {h.deliveries} deliveries, {h.refused} refused"
        + (" (" + ", ".join(f"{k} x{n}" for k, n in h.outcomes.items()) + ")" if h.refused else "")
        for p, h in crossing.webhooks.items()
    )
    return [
        *table,
        "",
        f"Changes made (due -> answered, p99): {made}.",
        f"Webhooks at the end of the run (the emulators' own count): {hooks}.",
    ]
