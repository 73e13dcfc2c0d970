"""The rate-limited and isolation figures' arithmetic, on request logs made up here (exact
counts only: no timing is measured)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import isolation, ratelimited
from bench.calls import mark
from bench.stats import percentiles
from bench.world import Board, LinkedTask

BOARD = Board("token", "b" * 24, "l" * 24, "connection")
CARDS = ["a" * 24, "c" * 24]
TASKS = [LinkedTask(f"task-{n}", card, BOARD) for n, card in enumerate(CARDS)]


def _entry(seq: int, method: str, card: str, status: int, at: float, excerpt: str = "") -> Any:
    return {
        "seq": seq, "method": method, "path": f"/1/cards/{card}", "status": status,
        "received": at, "answered": at, "excerpt": excerpt,
    }  # fmt: skip


def _write(seq: int, card: str, run: int, index: int, at: float, status: int = 200) -> Any:
    return _entry(seq, "PUT", card, status, at, f"name={mark(run, index)}")


def test_the_minimum_is_one_call_per_change_at_100_calls_per_10_s() -> None:
    assert ratelimited.minimum_seconds(1000) == 100.0
    assert ratelimited.minimum_seconds(100) == 10.0
    # Two calls a change at Tether's budget of 80 per 10 s:
    assert ratelimited.minimum_seconds(1000, 2, limit=80) == 250.0


def test_a_rate_limited_run_counts_its_calls_429s_and_the_last_arrival() -> None:
    run = ratelimited.RUN
    entries = [
        _entry(1, "GET", CARDS[0], 200, 100.1),
        _write(2, CARDS[0], run, 0, 100.2),
        _entry(3, "GET", CARDS[1], 429, 100.3),
        _write(4, CARDS[1], run, 1, 100.6),
        _write(5, CARDS[0], run, 2, 101.0),
        _write(6, CARDS[1], run, 3, 101.5, status=503),  # never arrived
    ]
    result = ratelimited._result(entries, TASKS, changes=4, began=100.0, refused=0)
    assert (result.arrived, result.too_many, result.provider_calls, result.writes) == (3, 1, 6, 4)
    assert result.seconds == pytest.approx(1.0)
    assert result.minimum_seconds == pytest.approx(0.4)
    assert result.ratio == pytest.approx(2.5)
    assert result.calls_per_change == 1.5
    assert result.seconds_at_limit == pytest.approx(0.6)
    assert result.kinds == {"PUT /1/cards/{id}": 4, "GET /1/cards/{id}": 2}
    assert "| 4 | 3 | 1 | 1.0 s | 0.4 s | 2.50x | 1.50 |" in "\n".join(ratelimited.markdown(result))


def test_a_later_title_carries_an_earlier_change_and_other_runs_do_not_count() -> None:
    entries = [
        _write(1, CARDS[0], 7, 2, 10.5),  # changes 0 and 2 (coalesced)
        _write(2, CARDS[1], 8, 1, 10.1),  # another run's mark
        _write(3, CARDS[1], 7, 1, 10.9),
    ]
    arrivals = isolation._arrivals(entries, 7)
    assert arrivals == {CARDS[0]: [(2, 10.5)], CARDS[1]: [(1, 10.9)]}
    due = [10.0, 10.25, 10.5, 10.75]  # change 3 (card 1) never arrived
    assert isolation._latencies(due, TASKS, arrivals) == pytest.approx([0.5, 0.65, 0.0])


def _run(outage: bool, p99: float) -> isolation.IsolationRun:
    return isolation.IsolationRun(
        outage=outage, seconds=15, healthy_rate=8, failing_rate=2, load_average=1.5,
        changes=120, refused=0, arrived=120, latency=percentiles([0.05, p99]),
        failing_changes=30, failing_arrived=30, answered_5xx=32 if outage else 0,
        recovered=True, recovery_seconds=5.0 if outage else 0.0,
    )  # fmt: skip


def test_the_isolation_table_shows_both_runs_and_the_change_of_p99() -> None:
    result = isolation.Isolation(2, 120, 8, 4, _run(False, 0.2), _run(True, 0.23), 0.15)
    table = "\n".join(isolation.markdown(result))
    assert "| baseline | 120 | 120 | 50 ms | 200 ms | 200 ms | 30 | 30 | 0 | 0.0 s | 1.5 |" in table
    assert "| 230 ms | 30 | 30 | 32 | 5.0 s | 1.5 |" in table
    assert "p99 by +15%" in table
