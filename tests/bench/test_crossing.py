"""How the cross-provider benchmark reads the emulators' request logs: which calls are writes
carrying a change, how a change's arrival is found (a later mark counts: a connector may
coalesce), and what counts as an echo. Exact counts only, no timing."""

from __future__ import annotations

from typing import Any

from bench.calls import mark
from bench.crossing import Crossing, CrossRun, WebhookHealth, _arrivals, _path
from bench.crossing_table import lines
from bench.crossing_world import CrossTask
from bench.stats import percentiles

CARD, GID, ISSUE = "a" * 24, "1207", "10042"
TASKS = [CrossTask("t0", {"trello": CARD, "asana": GID, "jira": ISSUE})]


def entry(method: str, path: str, index: int | None, received: float, status: int = 200) -> Any:
    excerpt = "" if index is None else f'{{"name": "{mark(7, index)}"}}'
    return {"method": method, "path": path, "status": status, "received": received,
            "excerpt": excerpt}  # fmt: skip


def test_writes_are_puts_to_the_item_that_carry_the_run_s_marks() -> None:
    entries = [
        entry("GET", f"/api/1.0/tasks/{GID}", None, 1.0),
        entry("PUT", f"/api/1.0/tasks/{GID}", 0, 1.1),
        entry("PUT", f"/api/1.0/tasks/{GID}", 1, 1.2, status=429),
        entry("PUT", f"/rest/api/3/issue/{ISSUE}", 1, 1.3, status=204),
    ]
    assert _arrivals(entries, "asana", 7) == {GID: [(0, 1.1)]}
    assert _arrivals(entries, "jira", 7) == {ISSUE: [(1, 1.3)]}
    assert _arrivals(entries, "asana", 8) == {}


def test_a_later_mark_carries_an_earlier_change_and_a_repeated_mark_is_an_echo() -> None:
    entries = [
        entry("PUT", f"/rest/api/3/issue/{ISSUE}", 1, 10.5, status=204),
        entry("PUT", f"/rest/api/3/issue/{ISSUE}", 1, 10.7, status=204),
        entry("GET", f"/rest/api/3/issue/{ISSUE}", None, 10.8),
    ]
    found = _path("jira", "core", TASKS, [10.0, 10.2], entries, 7)
    assert (found.arrived, found.writes, found.echo_writes, found.calls) == (2, 2, 1, 3)
    assert found.latency.max == 0.5
    assert found.kinds == {"PUT /rest/api/3/issue/{id}": 2, "GET /rest/api/3/issue/{id}": 1}


def test_a_write_back_to_where_the_change_came_from_is_an_echo() -> None:
    entries = [entry("PUT", f"/1/cards/{CARD}", 0, 5.0)]
    found = _path("trello", "trello", TASKS, [4.9], entries, 7)
    assert (found.arrived, found.writes, found.echo_writes) == (0, 1, 1)


def test_the_table_has_a_row_per_step_and_provider() -> None:
    run = CrossRun("trello", 5, 10, 1, 0, percentiles([0.01]), True)
    run.paths = [_path(p, "trello", TASKS, [1.0], [], 7) for p in ("trello", "asana", "jira")]
    crossing = Crossing(1, {"trello": 1, "asana": 1, "jira": 1}, 10, [run])
    crossing.webhooks = {"jira": WebhookHealth(1, 3, 1, {"401": 4})}
    shown = lines(crossing)
    assert sum(1 for line in shown if line.startswith("| Trello edit | 5/s |")) == 3
    assert "Jira 1 held, 3 deliveries, 1 refused (401 x4)" in shown[-1]
