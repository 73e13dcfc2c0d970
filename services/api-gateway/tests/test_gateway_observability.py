"""What the gateway tells operators about a request: every log line of it names the task its
path names, and, traced, task-core gets the request's trace context (untraced, nothing)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tether_common.logging import configure_logging

IssueToken = Callable[[str, str], Awaitable[str]]
StartGateway = Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def ann(issue_token: IssueToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_token('acme', 'ann@acme.test')}"}


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's logging, as configured, written to a buffer instead of stderr."""
    configure_logging("api-gateway", "DEBUG", json=True)
    buffer = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    yield buffer
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
async def failing_task_core(start_gateway: StartGateway) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in front of a task-core that fails every request (so it logs)."""

    def fail(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(500, json={"error": {"code": "boom", "message": "boom"}})

    async with start_gateway(httpx.MockTransport(fail)) as client:
        yield client


async def test_every_line_of_a_request_names_the_task_of_its_path(
    json_logs: io.StringIO, failing_task_core: httpx.AsyncClient, ann: dict[str, str]
) -> None:
    mark = len(json_logs.getvalue().splitlines())
    answer = await failing_task_core.patch(
        "/v1/tasks/task-9", headers={**ann, "X-Request-ID": "req-9"}, json={"title": "x"}
    )
    assert answer.status_code >= 500
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()[mark:]]
    of_request = [line for line in lines if line.get("request_id") == "req-9"]
    # The handler's own warning about task-core, and the access line.
    assert {line["event"] for line in of_request} >= {"task_core_failed", "request"}
    assert [line.get("task_id") for line in of_request] == ["task-9"] * len(of_request)
    assert all(line["tenant_id"] for line in of_request if line["event"] != "request")


async def test_task_core_gets_the_requests_trace_context_when_traced(
    recorded_spans: InMemorySpanExporter,
    client: httpx.AsyncClient,
    ann: dict[str, str],
    task_core_requests: list[httpx.Request],
) -> None:
    answered = await client.get("/v1/tasks", headers=ann)
    assert answered.status_code == 200
    traceparent = task_core_requests[-1].headers["traceparent"]
    [server] = [s for s in recorded_spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.name == "GET /v1/tasks"
    _, trace_id, _, _ = traceparent.split("-")
    assert trace_id == f"{server.context.trace_id:032x}"


async def test_task_core_gets_no_trace_context_untraced(
    client: httpx.AsyncClient, ann: dict[str, str], task_core_requests: list[httpx.Request]
) -> None:
    answered = await client.get("/v1/tasks", headers=ann)
    assert answered.status_code == 200
    assert "traceparent" not in task_core_requests[-1].headers
