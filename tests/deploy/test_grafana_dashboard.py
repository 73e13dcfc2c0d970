"""The Grafana dashboard (deploy/grafana/tether.json) cannot drift from the code: every
metric its queries name is one some module of Tether registers, every label they group or
select by is one of those metrics' labels, and the panels the operators rely on are there."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "tether.json"
PACKAGES = (
    "tether_common",
    "tether_events",
    "tether_connector_runtime",
    "task_core",
    "api_gateway",
    "trello_connector",
    "asana_connector",
    "jira_connector",
)
# Modules that run something when imported (entry points, migration scripts) or only serve
# tests: they define no metric a deployment exports.
NOT_IMPORTED = ("__main__", "alembic_env", "migrations", ".testing")

METRIC = re.compile(r"\btether_[a-z0-9_]+")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
SELECTOR = re.compile(r"\{([^}]*)\}")
# Labels PromQL itself adds: a histogram's bucket bound.
PROMQL_LABELS = {"le"}


@cache
def defined_metrics() -> dict[str, frozenset[str]]:
    """Every metric Tether's modules register, by each name a query may use (a counter's
    ``_total``, a histogram's ``_bucket``...), with its label names."""
    for package in PACKAGES:
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not any(part in module.name for part in NOT_IMPORTED):
                importlib.import_module(module.name)
    collectors: dict[str, Any] = REGISTRY._names_to_collectors  # no public way to list them
    return {
        name: frozenset(getattr(collector, "_labelnames", ()))
        for name, collector in collectors.items()
        if name.startswith("tether_")
    }


def queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_every_metric_a_panel_queries_is_defined_by_the_code() -> None:
    defined = defined_metrics()
    unknown = [
        (title, name)
        for title, expr in queries()
        for name in METRIC.findall(expr)
        if name not in defined
    ]
    assert unknown == []


def test_every_label_a_panel_uses_belongs_to_its_metrics() -> None:
    defined = defined_metrics()
    wrong = []
    for title, expr in queries():
        labels = set().union(*(defined.get(name, ()) for name in METRIC.findall(expr)))
        used = {label.strip() for group in GROUPING.findall(expr) for label in group.split(",")} | {
            pair.split("=")[0].strip().rstrip("!~")
            for selector in SELECTOR.findall(expr)
            for pair in selector.split(",")
        }
        if used - labels - PROMQL_LABELS:
            wrong.append((title, sorted(used - labels - PROMQL_LABELS)))
    assert wrong == []


def test_the_operators_panels_are_there() -> None:
    used = {name for _, expr in queries() for name in METRIC.findall(expr)}
    assert {
        "tether_events_published_total",
        "tether_events_consumed_total",
        "tether_connector_provider_calls_total",
        "tether_connector_propagation_seconds_bucket",
        "tether_connector_links_retrying",
        "tether_dead_lettered_total",
        "tether_dead_letter_waiting",
        "tether_dead_letter_held",
        "tether_consumer_lag",
        "tether_task_core_conflicts_total",
        "tether_connector_connections_broken",
    } <= used
    assert all(expr.strip() for _, expr in queries())
