"""The results: ``latest.json`` (every figure with its conditions), a Markdown table
(``latest.md``), and PNG plots (latency percentiles against offered load; calls per change),
written under ``bench/results/``."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench import crossing_table, isolation, latency, ratelimited


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        extra = {
            name: _plain(getattr(value, name))
            for name in ("calls_per_change", "write_amplification", "per_change", "floor_p50")
            if hasattr(type(value), name)
        }
        return fields | extra
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(results: dict[str, Any], out: Path) -> Path:
    path = out / "latest.json"
    path.write_text(json.dumps(_plain(results), indent=2) + "\n")
    return path


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def markdown(results: dict[str, Any]) -> str:
    c = results["conditions"]
    lines = [
        f"Conditions: {c['mode']} mode, {c['cores']} cores, load average {c['load_average']} at "
        f"start, {c['boards']} Trello connections, {c['tasks']} tasks, {c['duration']} s per "
        f"load step, {c['date']}.",
        "",
        "| offered load | changes | arrived | p50 | p95 | p99 | calls/change | write amp. "
        "| echo writes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for r in results["latency"]:
        lines.append(
            f"| {r.rate:g}/s | {r.changes} | {r.arrived} | {_ms(r.latency.p50)} | "
            f"{_ms(r.latency.p95)} | {_ms(r.latency.p99)} | {r.calls_per_change:.2f} | "
            f"{r.write_amplification:.2f} | {r.echo_writes} |"
        )
    lines += _cpu_lines(results["latency"])
    sustained = [r.rate for r in results["latency"] if r.latency.p99 <= 1.0 and r.drained]
    best = f"{max(sustained):g} changes/s" if sustained else "none of the loads offered"
    lines += ["", f"Highest offered load with p99 under one second: {best}."]
    if results.get("loads_not_offered"):
        skipped = ", ".join(f"{rate:g}/s" for rate in results["loads_not_offered"])
        lines.append(
            f"Not offered: {skipped} (a lower load already saturated this machine: p99 over "
            f"{latency.SATURATED_P99:g} s or no catching up within the drain)."
        )
    lines += ["", "| provider calls per change (idle) | samples | calls each | calls |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    for cost in results["costs"]:
        shown = ", ".join(f"{k} x{n}" for k, n in cost.kinds.items())
        lines.append(f"| {cost.what} | {cost.samples} | {cost.per_change:.2f} | {shown} |")
    raw = results.get("raw")
    if raw is not None:
        lines += [
            "",
            "Raw stack (p50, one at a time): Kafka produce->consume "
            f"{_ms(raw.kafka_round_trip.p50)}, HTTP round trip {_ms(raw.http_round_trip.p50)}, "
            f"PostgreSQL commit {_ms(raw.postgres_commit.p50)}; sum {_ms(raw.floor_p50)}.",
        ]  # fmt: skip
        if results["latency"]:
            low = results["latency"][0]
            ratio = low.latency.p50 / raw.floor_p50 if raw.floor_p50 else float("nan")
            lines.append(
                f"Core -> Trello p50 at {low.rate:g}/s is {ratio:.1f}x the raw stack's sum."
            )
    if results.get("crossing") is not None:
        lines += ["", *crossing_table.lines(results["crossing"])]
    if results.get("rate_limited") is not None:
        lines += ["", *ratelimited.markdown(results["rate_limited"])]
    if results.get("isolation") is not None:
        lines += ["", *isolation.markdown(results["isolation"])]
    lines += ["", "| process | peak RSS |", "| --- | --- |"]
    for name, mib in results["memory"].items():
        lines.append(f"| {name} | {'-' if mib is None else f'{mib:.0f} MiB'} |")
    return "\n".join(lines) + "\n"


def _cpu_lines(runs: list[Any]) -> list[str]:
    """CPU per change at each load: where a sustained rate is bounded on a shared machine."""
    names = list(dict.fromkeys(name for r in runs for name in r.cpu_ms))
    if not names:
        return []
    lines = ["", "| CPU per change (ms) | " + " | ".join(names) + " |",
             "| --- |" + " --- |" * len(names)]  # fmt: skip
    for r in runs:
        cells = " | ".join(f"{r.cpu_ms[n]:.1f}" if n in r.cpu_ms else "-" for n in names)
        lines.append(f"| {r.rate:g}/s | {cells} |")
    return lines


def plot_latency(results: dict[str, Any], out: Path) -> Path:
    runs = results["latency"]
    rates = [r.rate for r in runs]
    figure, axes = plt.subplots(figsize=(6, 4))
    for name in ("p50", "p95", "p99"):
        values = [getattr(r.latency, name) * 1000 for r in runs]
        axes.plot(rates, values, marker="o", label=name)
    axes.set_xlabel("offered load (changes/s)")
    axes.set_ylabel("core -> Trello latency (ms)")
    axes.set_title(f"Propagation latency ({results['conditions']['mode']})")
    axes.grid(True, alpha=0.3)
    axes.legend()
    path = out / "latency.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_calls(results: dict[str, Any], out: Path) -> Path:
    costs = results["costs"]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.barh([c.what for c in costs], [c.per_change for c in costs])
    axes.set_xlabel("Trello API calls")
    axes.set_title("Provider calls per change")
    axes.grid(True, axis="x", alpha=0.3)
    path = out / "calls.png"
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_all(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    table = out / "latest.md"
    table.write_text(markdown(results))
    written = [write_json(results, out), table, plot_calls(results, out)]
    if results["latency"]:
        written.append(plot_latency(results, out))
    return written
