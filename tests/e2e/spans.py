"""Spans a deployment's services (or embedded mode's one process) wrote to their logs with
``TRACING=console`` (one JSON line per finished span, among the log lines), read back for
assertions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether_devinfra.services import SERVICES, Deployment


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]


def tracing_env() -> dict[str, str]:
    """Every service writing its spans to its log."""
    return {f"{spec.env_prefix}TRACING": "console" for spec in SERVICES}


def spans_of(deployment: Deployment) -> list[Span]:
    """Every span every service logged (read after the services stopped: the last batch is
    written at exit)."""
    spans: list[Span] = []
    for spec in SERVICES:
        spans += _spans_in(spec.name, deployment.log_file(spec).read_text().splitlines())
    return spans


def spans_in_log(service: str, log: Path) -> list[Span]:
    """Every span one process logged to ``log``, all of them its (``service.name``
    ``service``); read after it stopped."""
    return _spans_in(service, log.read_text().splitlines())


def _spans_in(service: str, lines: Iterable[str]) -> list[Span]:
    found = []
    for line in lines:
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        context = document.get("context")
        if not isinstance(context, dict) or "span_id" not in context:
            continue  # a JSON log line, not a span
        found.append(
            Span(
                service=document["resource"]["attributes"]["service.name"],
                name=document["name"],
                kind=str(document["kind"]).removeprefix("SpanKind."),
                trace_id=context["trace_id"],
                span_id=context["span_id"],
                parent_id=document.get("parent_id"),
                attributes=document.get("attributes") or {},
            )
        )
    assert all(span.service == service for span in found), f"{service} logged another's spans"
    return found


def next_hop(
    spans: Iterable[Span],
    parent: Span,
    attributes: Mapping[str, object] | None = None,
    **wanted: str,
) -> Span:
    """The one span of ``parent``'s trace with the ``wanted`` values (``name``, ``kind``,
    ``service``) and ``attributes`` whose closest ancestor other than an INTERNAL span (the
    ``fastapi.*`` spans of a request's dependencies and endpoint) is ``parent``."""
    by_id = {span.span_id: span for span in spans if span.trace_id == parent.trace_id}
    matches = [
        span
        for span in by_id.values()
        if all(getattr(span, field) == value for field, value in wanted.items())
        and all(span.attributes.get(name) == value for name, value in (attributes or {}).items())
        and _hop_parent(by_id, span) == parent.span_id
    ]
    assert len(matches) == 1, (parent, wanted, matches)
    return matches[0]


def _hop_parent(by_id: dict[str, Span], span: Span) -> str | None:
    parent_id = span.parent_id
    while parent_id in by_id and by_id[parent_id].kind == "INTERNAL":
        parent_id = by_id[parent_id].parent_id
    return parent_id
