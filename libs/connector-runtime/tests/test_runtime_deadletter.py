"""Dead-lettering: bounded retries, then the event is parked and the partition moves on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tether_common.settings import BusSettings
from tether_connector_runtime.deadletter import (
    DeadLetter,
    InMemoryRawPublisher,
    InProcessRawPublisher,
    RetryPolicy,
    dead_letter_handler,
    raw_publisher,
)
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_events.envelope import CloudEvent
from tether_events.inprocess import InProcessBus
from tether_events.sqlitelog import SqliteLogStore
from tether_events.task import LinkChanged

DLQ = "ns.tether.dead-letter.v1"
TOPIC = "ns.tether.link-events.v1"
FAILED_AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(task_id: str = "t1") -> CloudEvent[LinkChanged]:
    data = LinkChanged(
        link_id="l1", task_id=task_id, tenant_id="acme", provider="trello", status="active"
    )
    return data.envelope(source="/test", subject=task_id, tenant_id="acme")


async def no_sleep(seconds: float) -> None:
    pass


class Failing:
    """Fails with ``error`` on every call, or only on the first ``times`` calls."""

    def __init__(self, error: Exception, *, times: int | None = None) -> None:
        self.error = error
        self.times = times
        self.calls = 0

    async def __call__(self, event: CloudEvent[Any]) -> None:
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            raise self.error


def wrap(handler: Failing, publisher: InMemoryRawPublisher, **policy: Any) -> Any:
    return dead_letter_handler(
        handler,
        policy=RetryPolicy(**{"attempts": 3, **policy}),
        publisher=publisher,
        dead_letter_topic=DLQ,
        original_topic=TOPIC,
        consumer="trello-connector",
        sleep=no_sleep,
        now=lambda: FAILED_AT,
    )


def parked(publisher: InMemoryRawPublisher) -> list[DeadLetter]:
    assert all(topic == DLQ for topic, _, _ in publisher.records)
    return [DeadLetter.model_validate_json(value) for _, _, value in publisher.records]


async def test_a_transient_failure_is_retried_not_parked() -> None:
    publisher = InMemoryRawPublisher()
    handler = Failing(RetryableProviderError("503"), times=2)
    await wrap(handler, publisher)(event())
    assert handler.calls == 3
    assert publisher.records == []


async def test_a_permanent_failure_is_parked_at_once() -> None:
    publisher = InMemoryRawPublisher()
    handler = Failing(PermanentProviderError("404 list gone"))
    original = event()
    await wrap(handler, publisher)(original)  # returns: the offset may be committed
    assert handler.calls == 1
    [(_, key, _)] = publisher.records
    assert key == b"t1"
    [letter] = parked(publisher)
    assert letter == DeadLetter(
        original_topic=TOPIC,
        original_event=original.model_dump(mode="json"),
        error="PermanentProviderError: 404 list gone",
        attempts=1,
        failed_at=FAILED_AT,
        consumer="trello-connector",
    )
    # The parked event is the original, id and all.
    assert CloudEvent[LinkChanged].model_validate(letter.original_event) == original


async def test_a_revoked_grant_is_not_retried() -> None:
    publisher = InMemoryRawPublisher()
    handler = Failing(AuthRevokedError("401"))
    await wrap(handler, publisher)(event())
    assert handler.calls == 1
    assert parked(publisher)[0].error.startswith("AuthRevokedError")


@pytest.mark.parametrize("error", [RetryableProviderError("429"), ValueError("bug")])
async def test_repeated_failures_are_parked_after_the_policy_attempts(error: Exception) -> None:
    publisher = InMemoryRawPublisher()
    handler = Failing(error)
    await wrap(handler, publisher, attempts=4)(event())
    assert handler.calls == 4
    [letter] = parked(publisher)
    assert letter.attempts == 4
    assert str(error) in letter.error


async def test_infrastructure_failures_propagate_to_the_bus() -> None:
    class DatabaseDown(Exception):
        pass

    publisher = InMemoryRawPublisher()
    handler = Failing(DatabaseDown("connection refused"))
    with pytest.raises(DatabaseDown):
        await wrap(handler, publisher, never_park=(DatabaseDown,))(event())
    assert handler.calls == 1
    assert publisher.records == []


async def test_a_failing_dead_letter_publish_propagates() -> None:
    class Broken:
        async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
            raise ConnectionError("broker down")

    wrapped = dead_letter_handler(
        Failing(PermanentProviderError("x")),
        policy=RetryPolicy(attempts=1),
        publisher=Broken(),
        dead_letter_topic=DLQ,
        original_topic=TOPIC,
        consumer="c",
    )
    with pytest.raises(ConnectionError):  # so the bus retries: the event is never dropped
        await wrapped(event())


async def test_on_a_bus_a_poison_event_no_longer_blocks_the_ones_behind_it() -> None:
    publisher = InMemoryRawPublisher()
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(e: CloudEvent[Any]) -> None:
        if e.subject == "poison":
            raise ValueError("cannot map this task")
        handled.append(e.subject)
        done.set()

    bus = InProcessBus()
    bus.subscribe(
        [TOPIC],
        "trello-connector",
        dead_letter_handler(
            handler,
            policy=RetryPolicy(attempts=2, base_delay=0.001),
            publisher=publisher,
            dead_letter_topic=DLQ,
            original_topic=TOPIC,
            consumer="trello-connector",
        ),
    )
    await bus.start()
    try:
        await bus.publish(TOPIC, event("poison"))
        await bus.publish(TOPIC, event("fine"))
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await bus.stop()
    assert handled == ["fine"]
    [letter] = parked(publisher)
    assert letter.original_event["subject"] == "poison"
    assert letter.attempts == 2


async def test_on_the_durable_embedded_log_a_parked_event_survives_a_restart(
    tmp_path: Path,
) -> None:
    store = SqliteLogStore(tmp_path / "bus.db")
    try:
        bus = InProcessBus(store)
        async with raw_publisher(BusSettings(bus="inprocess"), bus) as publisher:
            assert isinstance(publisher, InProcessRawPublisher)
            wrapped = dead_letter_handler(
                Failing(PermanentProviderError("gone")),
                policy=RetryPolicy(attempts=1),
                publisher=publisher,
                dead_letter_topic=DLQ,
                original_topic=TOPIC,
                consumer="trello-connector",
                now=lambda: FAILED_AT,
            )
            await wrapped(event("poison"))
    finally:
        await store.close()
    reopened = SqliteLogStore(tmp_path / "bus.db")
    try:
        [raw] = await reopened.read(DLQ, 0, 10)
    finally:
        await reopened.close()
    letter = DeadLetter.model_validate_json(raw)
    assert letter.original_event["subject"] == "poison"
    assert letter.failed_at == FAILED_AT


async def test_each_parked_event_is_counted_and_a_retried_one_is_not() -> None:
    def dead_lettered() -> float:
        labels = {"consumer": "trello-connector"}
        return REGISTRY.get_sample_value("tether_dead_lettered_total", labels) or 0.0

    before = dead_lettered()
    publisher = InMemoryRawPublisher()
    await wrap(Failing(RetryableProviderError("503"), times=2), publisher)(event())
    assert dead_lettered() == before
    await wrap(Failing(PermanentProviderError("404 list gone")), publisher)(event())
    await wrap(Failing(RetryableProviderError("503")), publisher)(event("t2"))
    assert dead_lettered() == before + 2
