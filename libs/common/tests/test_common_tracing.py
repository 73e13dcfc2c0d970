"""Tracing setup: ``off`` installs nothing; ``console`` writes one JSON line per span; ``otlp``
exports to the standard endpoint variable's collector; request spans keep the names of query
parameters, never their values."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from tether_common.tracing import RedactQueries, setup_tracing
from tether_events.trace_context import enabled, tracer


@pytest.fixture
def untraced_after() -> Iterator[None]:
    """The test installs a provider; the process is untraced again afterwards."""
    yield
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def test_off_installs_nothing_and_records_nothing() -> None:
    assert setup_tracing("task-core", "off") is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not enabled()
    with tracer().start_as_current_span("request") as span:
        assert not span.is_recording()
        assert not span.get_span_context().is_valid


@pytest.mark.usefixtures("untraced_after")
def test_console_writes_each_span_as_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    provider = setup_tracing("task-core", "console")
    assert provider is not None
    assert enabled()
    with tracer().start_as_current_span("outer"), tracer().start_as_current_span("inner"):
        pass
    provider.force_flush()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["name"] for line in lines] == ["inner", "outer"]
    inner, outer = lines
    assert inner["parent_id"] == outer["context"]["span_id"]
    assert inner["resource"]["attributes"]["service.name"] == "task-core"


@pytest.mark.usefixtures("untraced_after")
async def test_request_spans_keep_query_names_not_values() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactQueries())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    app = FastAPI()

    @app.get("/v1/connections/trello/callback")
    async def callback() -> dict[str, str]:
        return {}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        answered = await client.get(
            "/v1/connections/trello/callback",
            params={"oauth_token": "request-token-1", "oauth_verifier": "verifier-2"},
        )
    assert answered.status_code == 200
    [server] = [s for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert server.attributes is not None
    query = str(server.attributes["url.query"])
    assert "request-token-1" not in query
    assert "verifier-2" not in query
    assert query == "oauth_token=%5Bredacted%5D&oauth_verifier=%5Bredacted%5D"


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps each export request it receives."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(ExportTraceServiceResponse().SerializeToString())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes]]]:
    """A local collector, and the standard variable pointing the exporter at it."""
    server = HTTPServer(("127.0.0.1", 0), Collector)
    Collector.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield Collector.received
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("untraced_after")
def test_otlp_exports_to_the_configured_endpoint(collector: list[tuple[str, bytes]]) -> None:
    provider = setup_tracing("trello-connector", "otlp")
    assert provider is not None
    with tracer().start_as_current_span("Trello PUT"):
        pass
    assert provider.force_flush()
    [(path, body)] = collector
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "trello-connector"
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["Trello PUT"]
