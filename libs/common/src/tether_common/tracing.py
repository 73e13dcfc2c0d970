"""Distributed tracing (OpenTelemetry), off unless a service's ``TRACING`` setting turns it on.

A change is one trace: the gateway's request span, task-core's request span (the context
travels in the ``traceparent`` header the gateway's client adds), the event kept in the outbox
with that context, the PRODUCER span of its publication (the context now in the Kafka message
headers), each connector's CONSUMER span, and the CLIENT span of the provider call it makes.
A provider's webhook starts a trace the same way back to task-core. The request spans are
FastAPI's own (it records them, with ``fastapi.*`` spans inside, once a provider is
installed); the rest are Tether's (``tether_events.trace_context``, ``provider_spans``).

``setup_tracing`` installs the process's tracer provider: ``console`` writes each finished span
as one JSON line on stderr, ``otlp`` exports over OTLP/HTTP to wherever the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) points, default
``http://localhost:4318``; ``off`` installs nothing, and every helper then returns at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Literal
from urllib.parse import parse_qsl, urlencode

import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from tether_common.logging import REDACTED
from tether_events.trace_context import current_carrier

TracingMode = Literal["off", "console", "otlp"]


def setup_tracing(service: str, mode: TracingMode) -> TracerProvider | None:
    """Install the process's tracer provider for ``service`` (its ``service.name``; the
    standard ``OTEL_RESOURCE_ATTRIBUTES`` add to it); None and nothing installed for ``off``.
    Spans leave in batches; a service's lifespan exports what is left as it ends
    (:func:`flush_spans`)."""
    if mode == "off":
        return None
    exporter: SpanExporter
    if mode == "otlp":
        # Imported here: the OTLP exporter pulls in protobuf, which an untraced process
        # has no use for.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter(out=sys.stderr, formatter=span_line)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(RedactQueries())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


async def flush_spans() -> None:
    """Export the spans still waiting in the batch. Called as a service's lifespan ends:
    uvicorn ends the process by the signal that stopped it, so exit hooks never run."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        await asyncio.to_thread(provider.force_flush)


class RedactQueries(SpanProcessor):
    """Keeps only the names of a request's query parameters (``url.query``): an OAuth
    callback's carry a grant's code and state, or a request token and its verifier."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        query = (span.attributes or {}).get("url.query")
        if isinstance(query, str) and query:
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            span.set_attribute("url.query", urlencode([(name, REDACTED) for name in names]))


def span_line(span: ReadableSpan) -> str:
    """One finished span as one JSON line (the console exporter's own format, unindented)."""
    return json.dumps(json.loads(span.to_json()), separators=(",", ":")) + "\n"


async def propagate_trace(request: httpx.Request) -> None:
    """An httpx request hook: the current trace context goes with calls to our own services
    (never to a provider's API), so their spans join the caller's trace."""
    request.headers.update(current_carrier())
