"""An event carries its publisher's trace through Kafka (W3C trace context in the message
headers) and is handled in that trace; untraced, nothing is added to a message and nothing is
recorded; tracing or not, every line logged while handling an event names it."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from aiokafka import AIOKafkaConsumer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind

from tether_events import CloudEvent, ExportRequested, TaskChanged, VectorClock
from tether_events.inprocess import InProcessBus
from tether_events.kafka import KafkaBus, ensure_topics
from tether_events.trace_context import enabled, resumed, stored_context, tracer


def task_changed(task_id: str) -> CloudEvent[TaskChanged]:
    return _task(task_id).envelope(source="/test", subject=task_id, tenant_id="acme")


def _task(task_id: str) -> TaskChanged:
    return TaskChanged(
        task_id=task_id,
        tenant_id="acme",
        version=1,
        title="Plan the week",
        description="",
        due_date=None,
        completed=False,
        deleted=False,
        clock=VectorClock({"core": 1}),
        origin="core",
        updated_at=datetime.now(UTC),
    )


@pytest.fixture
async def kafka_topic(kafka_bootstrap_servers: str) -> str:
    topic = f"test-{uuid.uuid4().hex[:10]}.tether.task-changed.v1"
    await ensure_topics(kafka_bootstrap_servers, [topic], partitions=3)
    return topic


class Handled:
    """A handler that notes each event's span context as it is handled."""

    def __init__(self) -> None:
        self.contexts: dict[str, SpanContext] = {}
        self.arrived = asyncio.Event()

    async def __call__(self, event: CloudEvent[Any]) -> None:
        self.contexts[event.id] = trace.get_current_span().get_span_context()
        self.arrived.set()


@pytest.fixture
async def kafka_bus(kafka_bootstrap_servers: str) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(kafka_bootstrap_servers, client_id="trace-test")
    yield bus
    await bus.stop()


@pytest.mark.integration
async def test_an_event_is_handled_in_the_trace_that_published_it(
    recorded_spans: InMemorySpanExporter, kafka_bus: KafkaBus, kafka_topic: str
) -> None:
    handled = Handled()
    kafka_bus.subscribe([kafka_topic], "traced", handled)
    await kafka_bus.start()
    sent = task_changed("task-1")
    with tracer().start_as_current_span("PATCH /v1/tasks/{task_id}") as request:
        await kafka_bus.publish(kafka_topic, sent)
    await asyncio.wait_for(handled.arrived.wait(), 60)

    spans = {span.name: span for span in recorded_spans.get_finished_spans()}
    published = spans[f"{kafka_topic} publish"]
    consumed = spans[f"{kafka_topic} process"]
    assert published.kind is SpanKind.PRODUCER
    assert consumed.kind is SpanKind.CONSUMER
    trace_id = request.get_span_context().trace_id
    assert {published.context.trace_id, consumed.context.trace_id} == {trace_id}
    assert published.parent is not None
    assert published.parent.span_id == request.get_span_context().span_id
    assert consumed.parent is not None
    assert consumed.parent.span_id == published.context.span_id
    # The handler ran inside the consumer's span.
    assert handled.contexts[sent.id].span_id == consumed.context.span_id
    assert consumed.attributes is not None
    assert consumed.attributes["messaging.message.id"] == sent.id
    assert consumed.attributes["tether.task_id"] == "task-1"


@pytest.mark.integration
async def test_untraced_events_carry_no_trace_headers_and_are_handled_outside_any_trace(
    kafka_bus: KafkaBus, kafka_topic: str, kafka_bootstrap_servers: str
) -> None:
    assert not enabled()  # the default: no provider installed
    handled = Handled()
    kafka_bus.subscribe([kafka_topic], "untraced", handled)
    await kafka_bus.start()
    sent = task_changed("task-2")
    with tracer().start_as_current_span("request"):
        await kafka_bus.publish(kafka_topic, sent)
        assert stored_context() is None  # an outbox row would keep nothing
    await asyncio.wait_for(handled.arrived.wait(), 60)

    assert not handled.contexts[sent.id].is_valid
    reader = AIOKafkaConsumer(
        kafka_topic,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=f"headers-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await reader.start()
    try:
        message = await asyncio.wait_for(reader.getone(), 60)
    finally:
        await reader.stop()
    assert json.loads(message.value)["id"] == sent.id
    assert not message.headers


async def test_a_stored_context_resumes_the_trace_it_was_kept_in(
    recorded_spans: InMemorySpanExporter,
) -> None:
    with tracer().start_as_current_span("request") as request:
        kept = stored_context()
    assert kept is not None
    assert set(json.loads(kept)) == {"traceparent"}
    # Later, elsewhere (the relay): the publication joins the request's trace.
    with resumed(kept), tracer().start_as_current_span("publish") as publish:
        pass
    assert publish.get_span_context().trace_id == request.get_span_context().trace_id
    [finished] = [s for s in recorded_spans.get_finished_spans() if s.name == "publish"]
    assert finished.parent is not None
    assert finished.parent.span_id == request.get_span_context().span_id
    # Unreadable or absent: a new trace rather than a failed publication.
    for stored in ("not json", None, "[1]"):
        with resumed(stored), tracer().start_as_current_span("alone") as alone:
            assert alone.get_span_context().trace_id != request.get_span_context().trace_id


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """JSON lines with the context's bindings merged in, as every service logs them."""
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
    )
    yield buffer
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


async def test_every_line_logged_while_handling_an_event_names_it(
    json_logs: io.StringIO,
) -> None:
    log = structlog.get_logger("test")
    bus = InProcessBus()
    done = asyncio.Event()

    async def deeper() -> None:
        log.warning("provider_slow")

    async def handle(event: CloudEvent[Any]) -> None:
        log.info("handling_started")
        await deeper()
        await asyncio.create_task(deeper())  # a task started within inherits the ids
        log.info("handling_done")
        done.set()

    bus.subscribe(["topic"], "group", handle)
    await bus.start()
    export = ExportRequested(
        link_id="link-7",
        task_id="task-3",
        tenant_id="acme",
        provider="trello",
        connection_id="conn-1",
        target={"list_id": "L1"},
        task=_task("task-3"),
    ).envelope(source="/test", subject="task-3", tenant_id="acme")
    try:
        await bus.publish("topic", export)
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await bus.stop()
    log.info("after_handling")

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    handling = [line for line in lines if line["event"] != "after_handling"]
    assert [line["event"] for line in handling] == [
        "handling_started",
        "provider_slow",
        "provider_slow",
        "handling_done",
    ]
    for line in handling:
        assert line["event_id"] == export.id
        assert line["task_id"] == "task-3"
        assert line["link_id"] == "link-7"
        assert line["event_type"] == "tether.link.requested.v1"
    [after] = [line for line in lines if line["event"] == "after_handling"]
    assert "event_id" not in after
    assert "link_id" not in after
