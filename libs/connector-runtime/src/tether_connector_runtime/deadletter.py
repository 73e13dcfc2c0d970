"""Parking events whose handling keeps failing, so one poison event cannot stall a partition.

The bus retries a failing handler forever (nothing is lost, order is kept). Wrapped by
:func:`dead_letter_handler`, a handler gets a bounded number of attempts; then the event goes to
the dead-letter topic with its error and the wrapper returns, so the offset is committed and the
events behind it flow again. ``tether dlq replay`` puts parked events back (see replay.py).

The dead-letter record is a plain JSON document (:class:`DeadLetter`), not a CloudEvent of a
new type: the parked event stays byte-for-byte recoverable and consumers of real topics never
see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from tether_common.settings import BusSettings
from tether_connector_runtime.retry import (
    PermanentProviderError,
    RetriesExhausted,
    call_with_retries,
)
from tether_events.bus import EventBus, Handler
from tether_events.envelope import CloudEvent
from tether_events.inprocess import InProcessBus, LogStore

log = structlog.get_logger(__name__)

# The topic only grows (a replay publishes the event again, it removes nothing), so what the
# dead-letter topic holds is what was parked: this counter's increase over a time range.
DEAD_LETTERED = Counter(
    "tether_dead_lettered_total", "Events parked in the dead-letter topic", ["consumer"]
)


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    original_topic: str
    original_event: dict[str, Any] = Field(description="The full CloudEvent as JSON")
    error: str
    attempts: int
    failed_at: datetime
    consumer: str = Field(description="Consumer group that gave up on the event")


class RawPublisher(Protocol):
    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Durably append ``value`` to ``topic``."""


class InMemoryRawPublisher:
    """Keeps what was published (tests, embedded mode where the log is only for inspection)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.records.append((topic, key, value))


class KafkaRawPublisher:
    """Idempotent, ``acks=all`` like the bus producer: a parked event must not be lost."""

    def __init__(self, bootstrap_servers: str, *, client_id: str = "tether-dlq") -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Created here, not in __init__: aiokafka binds to the running event loop.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaRawPublisher.publish_raw called before start()")
        await self._producer.send_and_wait(topic, value, key=key)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries with backoff before parking. Exceptions in ``never_park`` (our own
    database or broker being down) propagate instead: the event is not at fault, so the bus
    keeps retrying it rather than parking every event during an outage."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    never_park: tuple[type[BaseException], ...] = ()


def _describe(exc: BaseException) -> str:
    inner = exc.last_error if isinstance(exc, RetriesExhausted) else exc
    return f"{type(inner).__name__}: {inner}"[:4000]


def dead_letter_handler(
    handler: Handler,
    *,
    policy: RetryPolicy,
    publisher: RawPublisher,
    dead_letter_topic: str,
    original_topic: str,
    consumer: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Handler:
    """``handler`` with retries, then parking: returns normally once the event is parked. If
    publishing to the dead-letter topic itself fails, that error propagates and the bus retries
    the event (it is never dropped)."""

    def worth_retrying(exc: BaseException) -> bool:
        return not isinstance(exc, (PermanentProviderError, *policy.never_park))

    async def wrapped(event: CloudEvent[Any]) -> None:
        tries = 0

        async def attempt() -> None:
            nonlocal tries
            tries += 1
            await handler(event)

        try:
            await call_with_retries(
                attempt,
                attempts=policy.attempts,
                base_delay=policy.base_delay,
                max_delay=policy.max_delay,
                sleep=sleep,
                retry_if=worth_retrying,
            )
            return
        except (RetriesExhausted, PermanentProviderError) as exc:
            failure: BaseException = exc
        letter = DeadLetter(
            original_topic=original_topic,
            original_event=event.model_dump(mode="json"),
            error=_describe(failure),
            attempts=tries,
            failed_at=now(),
            consumer=consumer,
        )
        await publisher.publish_raw(
            dead_letter_topic, event.subject.encode(), letter.model_dump_json().encode()
        )
        DEAD_LETTERED.labels(consumer).inc()
        log.error(
            "event_dead_lettered",
            event_id=event.id,
            type=event.type,
            topic=original_topic,
            consumer=consumer,
            attempts=tries,
            error=letter.error,
        )

    return wrapped


class InProcessRawPublisher:
    """Dead letters on the in-process log, next to every other topic: durable when the log is
    (embedded mode's SQLite file), in memory in tests. The key is not stored: the in-process
    log has one partition per topic, so it orders nothing."""

    def __init__(self, store: LogStore) -> None:
        self._store = store

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        await self._store.append(topic, value)


@asynccontextmanager
async def raw_publisher(settings: BusSettings, bus: EventBus) -> AsyncIterator[RawPublisher]:
    """The dead-letter publisher matching the configured bus, started and stopped with it."""
    if isinstance(bus, InProcessBus):
        yield InProcessRawPublisher(bus.store)
        return
    if settings.bus == "kafka":
        publisher = KafkaRawPublisher(settings.kafka_bootstrap_servers)
        await publisher.start()
        try:
            yield publisher
        finally:
            await publisher.stop()
        return
    yield InMemoryRawPublisher()
