"""One contract, two adapters: the in-process bus must behave like the Kafka bus where our
code depends on it (per-key order, consumer groups, commit only after the handler returned,
an event handled in the trace that published it).
The in-process bus runs over both of its log stores: in memory, and the SQLite file of
embedded mode."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind
from prometheus_client import REGISTRY

from tether_events import CloudEvent, EventBus
from tether_events.inprocess import InProcessBus, InProcessLogStore
from tether_events.kafka import KafkaBus, ensure_topics
from tether_events.sqlitelog import SqliteLogStore
from tether_events.testing import task_changed as event
from tether_events.trace_context import enabled, tracer

BusFactory = Callable[[], EventBus]


@pytest.fixture(
    params=["inprocess", "inprocess-sqlite", pytest.param("kafka", marks=pytest.mark.integration)]
)
async def make_bus(
    request: pytest.FixtureRequest, topic: str, tmp_path: Path
) -> AsyncIterator[BusFactory]:
    if request.param == "inprocess":
        store = InProcessLogStore()
        yield lambda: InProcessBus(store)
        return
    if request.param == "inprocess-sqlite":
        # Each bus opens the file afresh, as a restarted process would: whatever a test
        # expects a later bus to see must have reached the file, not only a store's memory.
        stores: list[SqliteLogStore] = []

        def reopened() -> EventBus:
            stores.append(SqliteLogStore(tmp_path / "bus.db"))
            return InProcessBus(stores[-1])

        yield reopened
        for opened in stores:
            await opened.close()
        return
    servers: str = request.getfixturevalue("kafka_bootstrap_servers")
    await ensure_topics(servers, [topic], partitions=3)
    yield lambda: KafkaBus(servers, client_id="contract-test")


@pytest.fixture
def topic() -> str:
    return f"test-{uuid.uuid4().hex[:10]}.tether.task-changed.v1"


@asynccontextmanager
async def running(bus: EventBus) -> AsyncIterator[EventBus]:
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


async def wait_until(condition: Callable[[], bool], timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def publish_all(make_bus: BusFactory, topic: str, events: list[CloudEvent[Any]]) -> None:
    async with running(make_bus()) as producer:
        for e in events:
            await producer.publish(topic, e)


async def test_events_of_one_task_arrive_in_order(make_bus: BusFactory, topic: str) -> None:
    sent = [event(task, n) for n in range(1, 8) for task in ("a", "b", "c")]
    await publish_all(make_bus, topic, sent)
    seen: list[CloudEvent[Any]] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e)

    consumer = make_bus()
    consumer.subscribe([topic], "order", handle)
    async with running(consumer):
        await wait_until(lambda: len(seen) >= len(sent))
    assert sorted(e.id for e in seen) == sorted(e.id for e in sent)
    for task in ("a", "b", "c"):
        assert [e.data.version for e in seen if e.subject == task] == list(range(1, 8))


async def test_every_consumer_group_sees_every_event(make_bus: BusFactory, topic: str) -> None:
    sent = [event("a", n) for n in range(1, 4)]
    await publish_all(make_bus, topic, sent)
    seen: dict[str, list[str]] = {"g1": [], "g2": []}
    consumer = make_bus()
    for group in seen:

        async def handle(e: CloudEvent[Any], group: str = group) -> None:
            seen[group].append(e.id)

        consumer.subscribe([topic], group, handle)
    async with running(consumer):
        await wait_until(lambda: all(len(v) >= 3 for v in seen.values()))
    assert seen["g1"] == seen["g2"] == [e.id for e in sent]


async def test_a_failing_handler_gets_the_same_event_again(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event("a", n) for n in range(1, 4)]
    await publish_all(make_bus, topic, sent)
    attempts: dict[str, int] = {}
    handled: list[int] = []

    async def flaky(e: CloudEvent[Any]) -> None:
        attempts[e.id] = attempts.get(e.id, 0) + 1
        if e.data.version == 2 and attempts[e.id] < 3:
            raise RuntimeError("provider outage")
        handled.append(e.data.version)

    consumer = make_bus()
    consumer.subscribe([topic], "flaky", flaky)
    async with running(consumer):
        await wait_until(lambda: len(handled) >= 3)
    # Nothing was skipped and nothing overtook the failing event.
    assert handled == [1, 2, 3]
    assert attempts[sent[1].id] == 3


async def test_a_restarted_consumer_resumes_after_what_it_handled(
    make_bus: BusFactory, topic: str
) -> None:
    first = [event("a", n) for n in range(1, 4)]
    await publish_all(make_bus, topic, first)
    seen: list[str] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e.id)

    consumer = make_bus()
    consumer.subscribe([topic], "restart", handle)
    async with running(consumer):
        await wait_until(lambda: len(seen) >= 3)
    later = [event("a", n) for n in range(4, 6)]
    await publish_all(make_bus, topic, later)
    consumer = make_bus()
    consumer.subscribe([topic], "restart", handle)
    async with running(consumer):
        await wait_until(lambda: len(seen) >= 5)
        await asyncio.sleep(0.5)  # room for a wrongly replayed event to show up
    assert seen == [e.id for e in first + later]


async def test_an_event_in_hand_at_a_crash_is_delivered_again(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event("a", n) for n in range(1, 4)]
    await publish_all(make_bus, topic, sent)
    seen: list[int] = []
    stuck = asyncio.Event()

    async def dies_on_second(e: CloudEvent[Any]) -> None:
        if e.data.version == 2:
            stuck.set()
            await asyncio.Event().wait()  # the process "dies" while handling: never returns
        seen.append(e.data.version)

    consumer = make_bus()
    consumer.subscribe([topic], "crash", dies_on_second)
    async with running(consumer):
        await asyncio.wait_for(stuck.wait(), 45)

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e.data.version)

    consumer = make_bus()
    consumer.subscribe([topic], "crash", handle)
    async with running(consumer):
        await wait_until(lambda: len(seen) >= 3)
        await asyncio.sleep(0.5)
    assert seen == [1, 2, 3]


# Coalescing: of several events with one key waiting in a consumed batch, the handler gets one.


def by_subject(e: CloudEvent[Any]) -> str:
    return e.subject


def latest_versions(events: list[CloudEvent[Any]]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for e in events:
        latest[e.subject] = max(latest.get(e.subject, 0), e.data.version)
    return latest


def versions(seen: list[CloudEvent[Any]], subject: str) -> list[int]:
    return [e.data.version for e in seen if e.subject == subject]


async def test_coalescing_hands_over_only_the_newest_event_of_a_key(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event(task, n) for n in range(1, 6) for task in ("a", "b")] + [event("c", 1)]
    await publish_all(make_bus, topic, sent)
    seen: list[CloudEvent[Any]] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e)

    consumer = make_bus()
    consumer.subscribe([topic], "coalesce", handle, coalesce_by=by_subject)
    async with running(consumer):
        await wait_until(lambda: latest_versions(seen) == {"a": 5, "b": 5, "c": 1})
        await asyncio.sleep(0.5)  # room for a superseded event to show up
    assert {s: versions(seen, s) for s in "abc"} == {"a": [5], "b": [5], "c": [1]}


async def test_coalescing_delivers_every_key_and_every_event_without_one(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event(task, 1) for task in ("a", "b", "c")] + [event("z", n) for n in range(1, 5)]
    await publish_all(make_bus, topic, sent)
    seen: list[CloudEvent[Any]] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e)

    def unless_z(e: CloudEvent[Any]) -> str | None:
        return None if e.subject == "z" else e.subject

    consumer = make_bus()
    consumer.subscribe([topic], "keys", handle, coalesce_by=unless_z)
    async with running(consumer):
        await wait_until(lambda: len(seen) >= len(sent))
        await asyncio.sleep(0.5)
    assert sorted(e.id for e in seen) == sorted(e.id for e in sent)
    assert versions(seen, "z") == [1, 2, 3, 4]


async def test_coalescing_keeps_the_newest_state_when_an_older_event_comes_last(
    make_bus: BusFactory, topic: str
) -> None:
    # A replayed dead letter can put an old snapshot behind a newer one in the log.
    sent = [event("a", 1), event("a", 3), event("a", 2)]
    await publish_all(make_bus, topic, sent)
    seen: list[CloudEvent[Any]] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen.append(e)

    def newer_version(older: CloudEvent[Any], newer: CloudEvent[Any]) -> CloudEvent[Any]:
        return newer if newer.data.version >= older.data.version else older

    consumer = make_bus()
    consumer.subscribe([topic], "newest", handle, coalesce_by=by_subject, newer_of=newer_version)
    async with running(consumer):
        await wait_until(lambda: bool(seen))
        await asyncio.sleep(0.5)
    assert versions(seen, "a") == [3]


async def test_a_failing_handler_in_a_coalesced_batch_loses_nothing(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event(task, n) for n in range(1, 4) for task in ("a", "b")]
    await publish_all(make_bus, topic, sent)
    attempts: dict[str, int] = {}
    handled: list[CloudEvent[Any]] = []

    async def flaky(e: CloudEvent[Any]) -> None:
        attempts[e.id] = attempts.get(e.id, 0) + 1
        if e.subject == "b" and attempts[e.id] < 3:
            raise RuntimeError("provider outage")
        handled.append(e)

    consumer = make_bus()
    consumer.subscribe([topic], "flaky-coalesced", flaky, coalesce_by=by_subject)
    async with running(consumer):
        await wait_until(lambda: latest_versions(handled) == {"a": 3, "b": 3})
        await asyncio.sleep(0.5)
    assert {s: versions(handled, s) for s in "ab"} == {"a": [3], "b": [3]}
    assert attempts[sent[-1].id] == 3


async def test_a_crash_in_a_coalesced_batch_redelivers_what_was_skipped(
    make_bus: BusFactory, topic: str
) -> None:
    sent = [event("a", 1), event("a", 2), event("b", 1), event("b", 2), event("c", 1)]
    await publish_all(make_bus, topic, sent)
    handled_first: list[tuple[str, int]] = []
    stuck = asyncio.Event()

    async def dies_on_b(e: CloudEvent[Any]) -> None:
        if e.subject == "b":
            assert e.data.version == 2  # b1 was skipped in favour of b2
            stuck.set()
            await asyncio.Event().wait()  # the process "dies" while handling: never returns
        handled_first.append((e.subject, e.data.version))

    consumer = make_bus()
    consumer.subscribe([topic], "crash-coalesced", dies_on_b, coalesce_by=by_subject)
    async with running(consumer):
        await asyncio.wait_for(stuck.wait(), 45)
    assert set(handled_first) <= {("a", 2), ("c", 1)}

    # Restarted without coalescing, the group sees exactly what was not acknowledged.
    seen_after: list[tuple[str, int]] = []

    async def handle(e: CloudEvent[Any]) -> None:
        seen_after.append((e.subject, e.data.version))

    consumer = make_bus()
    consumer.subscribe([topic], "crash-coalesced", handle)
    async with running(consumer):
        await wait_until(lambda: {("b", 2), ("c", 1)} <= set(handled_first + seen_after))
        await wait_until(lambda: {("a", 2)} <= set(handled_first + seen_after))
        await asyncio.sleep(0.5)
    # The skipped b1 was not acknowledged behind the crashed b2: both come again, in order.
    assert [v for s, v in seen_after if s == "b"] == [1, 2]
    # What was handled before the crash was acknowledged and is not handled twice.
    assert not set(handled_first) & set(seen_after)


async def test_the_bus_counts_what_it_publishes_and_consumes(
    make_bus: BusFactory, topic: str, request: pytest.FixtureRequest
) -> None:
    group = f"metrics-{uuid.uuid4().hex[:6]}"  # a fresh label set: counts start at zero

    def consumed() -> float:
        return (
            REGISTRY.get_sample_value(
                "tether_events_consumed_total", {"topic": topic, "group": group}
            )
            or 0.0
        )

    before = REGISTRY.get_sample_value("tether_events_published_total", {"topic": topic}) or 0.0
    await publish_all(make_bus, topic, [event("a", n) for n in range(1, 6)])
    published = REGISTRY.get_sample_value("tether_events_published_total", {"topic": topic})
    assert published == before + 5

    async def handle(e: CloudEvent[Any]) -> None:
        pass

    consumer = make_bus()
    consumer.subscribe([topic], group, handle)
    async with running(consumer):
        await wait_until(lambda: consumed() >= 5)
    assert consumed() == 5
    if "kafka" in request.node.callspec.id:
        # Caught up: every partition the group read from reports no lag left.
        lags = [
            s.value
            for metric in REGISTRY.collect()
            if metric.name == "tether_consumer_lag"
            for s in metric.samples
            if s.labels["group"] == group
        ]
        assert lags
        assert sum(lags) == 0


# Trace context: an event is handled in the trace that published it, on every bus.


class TraceSeen:
    """A handler noting the span context each event is handled in."""

    def __init__(self) -> None:
        self.contexts: dict[str, SpanContext] = {}

    async def __call__(self, e: CloudEvent[Any]) -> None:
        self.contexts[e.id] = trace.get_current_span().get_span_context()


def finished(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


async def test_an_event_is_handled_in_the_trace_it_was_published_in(
    make_bus: BusFactory, topic: str, recorded_spans: InMemorySpanExporter
) -> None:
    in_request, alone = event("a", 1), event("b", 1)
    async with running(make_bus()) as producer:
        with tracer().start_as_current_span("PATCH /v1/tasks/{task_id}") as request:
            await producer.publish(topic, in_request)
        await producer.publish(topic, alone)  # no span current: a trace of its own
    seen = TraceSeen()
    consumer = make_bus()  # a later process: the context must have travelled with the record
    consumer.subscribe([topic], "traced", seen)
    async with running(consumer):
        await wait_until(lambda: len(seen.contexts) >= 2)

    request_trace = request.get_span_context().trace_id
    assert seen.contexts[in_request.id].trace_id == request_trace
    assert seen.contexts[alone.id].is_valid
    assert seen.contexts[alone.id].trace_id != request_trace
    # Each hop is the child of the one before: request -> PRODUCER -> CONSUMER -> handler.
    by_message = {
        (s.kind, (s.attributes or {})["messaging.message.id"]): s
        for s in finished(recorded_spans, f"{topic} publish")
        + finished(recorded_spans, f"{topic} process")
    }
    for sent in (in_request, alone):
        published = by_message[(SpanKind.PRODUCER, sent.id)]
        consumed = by_message[(SpanKind.CONSUMER, sent.id)]
        assert consumed.parent is not None
        assert consumed.parent.span_id == published.context.span_id
        assert seen.contexts[sent.id].span_id == consumed.context.span_id
        assert (consumed.attributes or {})["messaging.consumer.group.name"] == "traced"
    published_in_request = by_message[(SpanKind.PRODUCER, in_request.id)]
    assert published_in_request.parent is not None
    assert published_in_request.parent.span_id == request.get_span_context().span_id
    assert by_message[(SpanKind.PRODUCER, alone.id)].parent is None


async def test_untraced_an_event_carries_no_context_and_is_still_delivered(
    make_bus: BusFactory, topic: str
) -> None:
    assert not enabled()  # the default: no tracer provider installed
    sent = event("a", 1)
    producer = make_bus()
    async with running(producer):
        with tracer().start_as_current_span("request"):
            await producer.publish(topic, sent)
    if isinstance(producer, InProcessBus):
        [record] = await producer.store.read_records(topic, 0, 10)
        assert record.headers == ()
    seen = TraceSeen()
    consumer = make_bus()
    consumer.subscribe([topic], "untraced", seen)
    async with running(consumer):
        await wait_until(lambda: sent.id in seen.contexts)
    assert not seen.contexts[sent.id].is_valid


async def test_a_coalesced_delivery_is_handled_in_the_trace_of_the_event_it_carries(
    make_bus: BusFactory, topic: str, recorded_spans: InMemorySpanExporter
) -> None:
    older, newer = event("a", 1), event("a", 2)
    async with running(make_bus()) as producer:
        with tracer().start_as_current_span("first edit"):
            await producer.publish(topic, older)
        with tracer().start_as_current_span("second edit") as second:
            await producer.publish(topic, newer)
    seen = TraceSeen()
    consumer = make_bus()
    consumer.subscribe([topic], "coalesced", seen, coalesce_by=by_subject)
    async with running(consumer):
        await wait_until(lambda: newer.id in seen.contexts)
    assert older.id not in seen.contexts
    assert seen.contexts[newer.id].trace_id == second.get_span_context().trace_id
