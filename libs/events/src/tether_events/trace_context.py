"""Trace context across the bus: W3C ``traceparent``/``tracestate`` in Kafka message headers
(and in the headers the embedded bus keeps with each record of its log), and the spans of
publishing and handling an event.

Tracing is off unless a process installed an OpenTelemetry SDK tracer provider (see
``tether_common.tracing.setup_tracing``). Off, every helper here returns at once: no span is
started, no header written, no context parsed. On, a published event carries the context of
the span that published it, and handling it continues that trace, so one change can be
followed from the request that made it to the provider call it caused.

Handling also binds the event's ids to the structured log context (``event_id``,
``task_id``, ``event_type``, and ``link_id`` for an event about one link), tracing or not, so
every line logged while handling one event names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from tether_events.envelope import CloudEvent

# The instrumentation scope every Tether span is recorded under.
TRACER_NAME = "tether"
# Only these headers travel with a message: anything else a propagator may add (baggage)
# could carry data a producer did not mean to put on the broker.
_TRACE_HEADERS = ("traceparent", "tracestate")

# A message's headers, as Kafka keeps them; the embedded bus keeps the same with each record.
KafkaHeaders = Sequence[tuple[str, bytes]]

# ``messaging.system`` of each bus: Kafka, and embedded mode's in-process log.
KAFKA = "kafka"
IN_PROCESS = "inprocess"


def enabled() -> bool:
    """Whether this process records spans: an SDK provider was installed (the API's default
    provider records nothing)."""
    return not isinstance(
        trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
    )


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str]:
    """The current span's context as W3C headers (``traceparent``, maybe ``tracestate``);
    empty when tracing is off or no span is current."""
    if not enabled():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: value for name, value in carrier.items() if name in _TRACE_HEADERS}


def stored_context() -> str | None:
    """The current context as a JSON object to keep with an outbox row, so the event it
    holds is published in the trace of the change that wrote it; None when there is none."""
    carrier = current_carrier()
    return json.dumps(carrier, separators=(",", ":")) if carrier else None


@contextmanager
def resumed(stored: str | None) -> Iterator[None]:
    """Make a context kept by :func:`stored_context` current for the block (e.g. while the
    relay publishes that row). Nothing happens when tracing is off or nothing was kept; an
    unreadable value is ignored (a trace is worth less than the event)."""
    if not stored or not enabled():
        yield
        return
    try:
        carrier = json.loads(stored)
    except ValueError:
        carrier = None
    if not isinstance(carrier, dict):
        yield
        return
    token = otel_context.attach(propagate.extract({str(k): str(v) for k, v in carrier.items()}))
    try:
        yield
    finally:
        otel_context.detach(token)


def _event_attributes(topic: str, event: CloudEvent[Any], system: str) -> dict[str, str]:
    return {
        "messaging.system": system,
        "messaging.destination.name": topic,
        "messaging.message.id": event.id,
        "tether.event.type": event.type,
        "tether.task_id": event.subject,
        "tether.tenant_id": event.tenantid,
    }


@contextmanager
def publishing(
    topic: str, event: CloudEvent[Any], *, system: str = KAFKA
) -> Iterator[list[tuple[str, bytes]] | None]:
    """A PRODUCER span around sending ``event`` to ``topic`` over the bus ``system`` (its
    ``messaging.system``); yields the message headers that carry it (None when tracing is
    off: the message goes without headers)."""
    if not enabled():
        yield None
        return
    with tracer().start_as_current_span(
        f"{topic} publish",
        kind=SpanKind.PRODUCER,
        attributes=_event_attributes(topic, event, system),
    ):
        yield [(name, value.encode()) for name, value in current_carrier().items()]


@contextmanager
def handling(
    topic: str,
    event: CloudEvent[Any],
    headers: KafkaHeaders = (),
    *,
    group_id: str,
    system: str = KAFKA,
) -> Iterator[None]:
    """The handling of one consumed event by the consumer group ``group_id``: its ids bound
    to the log context and, when tracing is on, a CONSUMER span continuing the trace its
    ``headers`` carry (a new trace without). The span names the group: in embedded mode every
    service's spans come from one process, and the group is what tells them apart."""
    with structlog.contextvars.bound_contextvars(**_ids_of(event)):
        if not enabled():
            yield
            return
        parent = propagate.extract(_carrier_of(headers))
        attributes = _event_attributes(topic, event, system)
        attributes["messaging.consumer.group.name"] = group_id
        with tracer().start_as_current_span(
            f"{topic} process", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        ):
            yield


def _ids_of(event: CloudEvent[Any]) -> dict[str, str]:
    ids = {"event_id": event.id, "task_id": event.subject, "event_type": event.type}
    link_id = getattr(event.data, "link_id", None)  # an event about one link names it
    if isinstance(link_id, str):
        ids["link_id"] = link_id
    return ids


def _carrier_of(headers: KafkaHeaders) -> Mapping[str, str]:
    carrier: dict[str, str] = {}
    for name, value in headers:
        if name in _TRACE_HEADERS:
            try:
                carrier[name] = value.decode()
            except UnicodeDecodeError:
                continue  # a foreign producer's bytes: no parent rather than no event
    return carrier
