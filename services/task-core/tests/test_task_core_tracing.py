"""A task change leaves in the trace of the request that made it: the outbox row keeps the
request's trace context, and the relay publishes the event to Kafka in that trace, after the
request ended, so a consumer's handling joins it. Untraced, rows keep nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind
from sqlalchemy import select

from task_core.app import create_app
from task_core.config import TaskCoreSettings
from task_core.models import OutboxMessage
from tether_common.db import create_engine, session_factory, transaction
from tether_common.tracing import propagate_trace
from tether_events import CloudEvent, Topic, topic_name
from tether_events.kafka import KafkaBus
from tether_events.trace_context import tracer

TASKS = "/internal/v1/tenants/acme/tasks"
OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]


class Observer:
    """A consumer group of the test's own: each task's event and the span it was handled in."""

    def __init__(self) -> None:
        self.handled: dict[str, tuple[CloudEvent[Any], SpanContext]] = {}
        self._arrived = asyncio.Condition()

    async def __call__(self, event: CloudEvent[Any]) -> None:
        async with self._arrived:
            self.handled[event.subject] = (event, trace.get_current_span().get_span_context())
            self._arrived.notify_all()

    async def wait_for(self, task_id: str) -> tuple[CloudEvent[Any], SpanContext]:
        async with asyncio.timeout(60), self._arrived:
            await self._arrived.wait_for(lambda: task_id in self.handled)
        return self.handled[task_id]


@pytest.fixture
def kafka_settings(
    database_url: str, kafka_bootstrap_servers: str, topic_namespace: str
) -> TaskCoreSettings:
    return TaskCoreSettings(
        database_url=database_url,
        bus="kafka",
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_namespace=topic_namespace,
    )


@pytest.fixture
async def traced_api(kafka_settings: TaskCoreSettings) -> AsyncIterator[httpx.AsyncClient]:
    """task-core on PostgreSQL and Kafka, called as the gateway calls it (its client hands
    the current trace context on)."""
    app = create_app(kafka_settings)
    async with (
        LifespanManager(app, startup_timeout=60) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://task-core.test",
            event_hooks={"request": [propagate_trace]},
        ) as client,
    ):
        yield client


@pytest.mark.integration
async def test_a_change_is_published_and_handled_in_the_trace_of_its_request(
    recorded_spans: InMemorySpanExporter,
    traced_api: httpx.AsyncClient,
    kafka_settings: TaskCoreSettings,
) -> None:
    observer = Observer()
    observing = KafkaBus(kafka_settings.kafka_bootstrap_servers, client_id="observer")
    topic = topic_name(Topic.TASK_CHANGED, kafka_settings.topic_namespace)
    observing.subscribe([topic], "trace-observer", observer)
    await observing.start()
    try:
        with tracer().start_as_current_span("gateway call", kind=SpanKind.CLIENT) as caller:
            created = await traced_api.post(TASKS, json={"title": "Plan the week"})
        assert created.status_code == 201
        task_id = created.json()["id"]
        event, handled_in = await observer.wait_for(task_id)
    finally:
        await observing.stop()

    trace_id = caller.get_span_context().trace_id
    [row] = [r for r in await _rows(kafka_settings.database_url) if r.event_id == event.id]
    assert row.trace_context is not None
    assert f"{trace_id:032x}" in row.trace_context

    spans = recorded_spans.get_finished_spans()
    server = _one(spans, SpanKind.SERVER, trace_id)
    assert server.parent is not None
    assert server.parent.span_id == caller.get_span_context().span_id
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/internal/v1/tenants/{tenant_id}/tasks"
    published = _one(spans, SpanKind.PRODUCER, trace_id)
    assert _ancestors(spans, published)[-1] == caller.get_span_context().span_id
    assert server.context.span_id in _ancestors(spans, published)
    consumed = [
        s for s in spans if s.kind is SpanKind.CONSUMER and s.context.span_id == handled_in.span_id
    ]
    assert [c.parent.span_id if c.parent else None for c in consumed] == [published.context.span_id]
    assert handled_in.trace_id == trace_id


async def test_untraced_changes_keep_no_trace_context(
    api: httpx.AsyncClient, outbox_rows: OutboxRows
) -> None:
    with tracer().start_as_current_span("request"):  # the API's no-op: tracing is off
        created = await api.post(TASKS, json={"title": "Plan the week"})
    assert created.status_code == 201
    rows = await outbox_rows()
    assert rows
    assert [row.trace_context for row in rows] == [None] * len(rows)


async def _rows(database_url: str) -> list[OutboxMessage]:
    engine = create_engine(database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            return list((await session.scalars(select(OutboxMessage))).all())
    finally:
        await engine.dispose()


def _one(spans: tuple[ReadableSpan, ...], kind: SpanKind, trace_id: int) -> ReadableSpan:
    found = [s for s in spans if s.kind is kind and s.context.trace_id == trace_id]
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def _ancestors(spans: tuple[ReadableSpan, ...], span: ReadableSpan) -> list[int]:
    """Span ids from ``span``'s parent up to its trace's root."""
    by_id = {s.context.span_id: s for s in spans}
    chain: list[int] = []
    parent = span.parent
    while parent is not None:
        chain.append(parent.span_id)
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return chain
