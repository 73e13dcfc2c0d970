"""The dead letters one connector parked, per tenant, and replaying one of them.

Reading moves no consumer group's offset (no group at all), as ``tether dlq list`` reads. Only
the newest :data:`TAIL` records of each partition are looked at: a page must stay quick however
long the topic has grown (it only grows; older records stay reachable with ``tether dlq``).

A replay publishes the parked CloudEvent unchanged (same id) to its original topic through the
connector's own bus, as ``tether dlq replay`` does: consumers that handled it already drop it as
a duplicate, the one that gave up sees it again. The record stays in the dead-letter topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from tether_common.errors import NotFound
from tether_connector_runtime.deadletter import DeadLetter
from tether_connector_runtime.state import ConnectorState
from tether_events.codec import decode
from tether_events.inprocess import InProcessBus
from tether_events.kafka_admin import partitions_of
from tether_events.topics import Topic, topic_name

# Records per partition looked at, newest first.
TAIL = 1000


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"


@dataclass(frozen=True)
class Record:
    id: str  # "<partition>:<offset>"
    letter: DeadLetter

    @property
    def tenant_id(self) -> str | None:
        tenant = self.letter.original_event.get("tenantid")
        return tenant if isinstance(tenant, str) else None


async def parked_for(state: ConnectorState, tenant_id: str) -> list[Record]:
    """The dead letters this connector's consumers parked for ``tenant_id``, newest first."""
    group = f"{state.pipeline.provider}-connector."
    found = [
        r
        for r in await _dead_letters(state)
        if r.letter.consumer.startswith(group) and r.tenant_id == tenant_id
    ]
    return sorted(found, key=lambda r: r.letter.failed_at, reverse=True)


async def replay(state: ConnectorState, tenant_id: str, record_id: str) -> Record:
    """Publish the parked event ``record_id`` again; ``DeadLetterNotFound`` (404) when it is
    not one of this connector's for ``tenant_id``."""
    record = next((r for r in await parked_for(state, tenant_id) if r.id == record_id), None)
    if record is None:
        raise DeadLetterNotFound(f"no dead letter {record_id[:40]!r} of this tenant")
    event = decode(json.dumps(record.letter.original_event).encode())
    await state.bus.publish(record.letter.original_topic, event, key=event.subject)
    return record


async def _dead_letters(state: ConnectorState) -> list[Record]:
    settings = state.settings
    dlq = topic_name(Topic.DEAD_LETTER, settings.topic_namespace)
    if isinstance(state.bus, InProcessBus):
        raws = await state.bus.store.read(dlq, 0, 1_000_000)
        start = max(0, len(raws) - TAIL)
        return _parsed((f"0:{n}", raw) for n, raw in enumerate(raws) if n >= start)
    if settings.bus != "kafka":
        return []
    return _parsed(await kafka_tail(settings.kafka_bootstrap_servers, dlq))


async def kafka_tail(
    bootstrap_servers: str, dlq: str, tail: int | None = None
) -> list[tuple[str, bytes]]:
    """The newest ``tail`` (default :data:`TAIL`) records of each partition of ``dlq`` as
    (``<partition>:<offset>``, value), read with no consumer group; none when the topic does
    not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    await admin.start()
    try:
        assigned = (await partitions_of(admin, [dlq])).get(dlq)
    finally:
        await admin.close()
    if not assigned:
        return []
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=15_000,
    )
    await reader.start()
    try:
        reader.assign(assigned)
        return await _read_tail(reader, assigned, TAIL if tail is None else tail)
    finally:
        await reader.stop()


async def _read_tail(
    reader: AIOKafkaConsumer, assigned: list[TopicPartition], tail: int
) -> list[tuple[str, bytes]]:
    first = await reader.beginning_offsets(assigned)
    end = await reader.end_offsets(assigned)
    for tp in assigned:
        reader.seek(tp, max(first[tp], end[tp] - tail))
    found: list[tuple[str, bytes]] = []
    waiting = {tp for tp in assigned if end[tp] > max(first[tp], end[tp] - tail)}
    while waiting:
        batches = await reader.getmany(*waiting, timeout_ms=10_000)
        if not batches:
            break  # records below the end went away (retention): show what arrived
        for tp, messages in batches.items():
            found += [
                (f"{tp.partition}:{m.offset}", m.value or b"")
                for m in messages
                if m.offset < end[tp]
            ]
            if messages[-1].offset + 1 >= end[tp]:
                waiting.discard(tp)
    return found


def _parsed(records: Iterable[tuple[str, bytes]]) -> list[Record]:
    parsed: list[Record] = []
    for record_id, raw in records:
        try:
            parsed.append(Record(record_id, DeadLetter.model_validate_json(raw)))
        except ValidationError:
            continue  # not a connector's dead letter (task-core's, or raw bytes)
    return parsed
