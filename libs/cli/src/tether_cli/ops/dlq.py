"""``tether dlq list`` and ``tether dlq show``: what the dead-letter topic holds.

Three kinds of record are parked there: a connector's :class:`DeadLetter` (the original event,
its error, attempts and consumer), task-core's invalid provider change (the CloudEvent itself),
and a message no consumer could decode (raw bytes; the Kafka bus adds ``tether-error`` and
``tether-topic`` headers). Records are named ``<partition>:<offset>``. Reading moves no
consumer group's offset: the topic is read from its start with no group.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from rich.table import Table

from task_core.config import TaskCoreSettings
from tether_cli.ops.common import OperatorError, out, print_json, run, started
from tether_connector_runtime.deadletter import DeadLetter
from tether_events.kafka_admin import partitions_of
from tether_events.sqlitelog import SqliteLogStore
from tether_events.topics import Topic, topic_name


@dataclass(frozen=True)
class Parked:
    """One dead-letter record; ``event`` the parked CloudEvent as JSON (None when it could not
    be decoded: ``raw`` then holds its text)."""

    id: str
    original_topic: str | None
    consumer: str | None
    error: str
    attempts: int | None
    failed_at: datetime | None
    event: dict[str, Any] | None
    raw: str | None = None

    @property
    def event_id(self) -> str:
        return str(self.event.get("id")) if self.event else "-"

    @property
    def event_type(self) -> str:
        return str(self.event.get("type")) if self.event else "-"


def parse_record(record_id: str, value: bytes, headers: dict[str, bytes]) -> Parked:
    """A dead-letter record of any of the three kinds, named ``record_id``."""
    try:
        letter = DeadLetter.model_validate_json(value)
    except ValidationError:
        pass
    else:
        return Parked(
            record_id,
            letter.original_topic,
            letter.consumer,
            letter.error,
            letter.attempts,
            letter.failed_at,
            letter.original_event,
        )
    topic = headers.get("tether-topic", b"").decode(errors="replace") or None
    error = headers.get("tether-error", b"").decode(errors="replace")
    try:
        event = json.loads(value)
    except ValueError:
        event = None
    if isinstance(event, dict) and "specversion" in event:
        # task-core parks an invalid provider change as the event itself.
        return Parked(
            record_id,
            topic,
            None,
            error or "invalid event (parked by task-core)",
            None,
            None,
            event,
        )
    return Parked(
        record_id,
        topic,
        None,
        error or "undecodable message",
        None,
        None,
        None,
        value.decode(errors="replace"),
    )


async def read_kafka(bootstrap_servers: str, namespace: str) -> list[Parked]:
    """Every record of the dead-letter topic, partition by partition, up to the end offsets
    read first. Raises OperatorError when the broker cannot be reached."""
    dlq = topic_name(Topic.DEAD_LETTER, namespace)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    async with started(admin):
        assigned = (await partitions_of(admin, [dlq])).get(dlq)
    if not assigned:
        return []
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=15_000,
    )
    async with started(reader):
        reader.assign(assigned)
        await reader.seek_to_beginning(*assigned)
        end = await reader.end_offsets(assigned)
        return await _drain(reader, end)


async def _drain(reader: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> list[Parked]:
    found: list[Parked] = []
    waiting = {tp for tp, offset in end.items() if offset > 0}
    while waiting:
        batches = await reader.getmany(*waiting, timeout_ms=10_000)
        if not batches:
            raise OperatorError("Kafka: the dead-letter topic's records stopped arriving")
        for tp, messages in batches.items():
            for m in messages:
                if m.offset < end[tp]:
                    found.append(
                        parse_record(
                            f"{tp.partition}:{m.offset}", m.value or b"", dict(m.headers or ())
                        )
                    )
            if messages[-1].offset + 1 >= end[tp]:
                waiting.discard(tp)
    return sorted(found, key=lambda p: tuple(int(n) for n in p.id.split(":")))


async def read_bus_file(path: Path, namespace: str) -> list[Parked]:
    """The dead-letter records of embedded mode's event log (one partition: ``0:<n>``)."""
    if not await asyncio.to_thread(path.exists):
        raise OperatorError(f"no event log at {path} (has `tether run` run here?)")
    store = SqliteLogStore(path)
    try:
        records = await store.read(topic_name(Topic.DEAD_LETTER, namespace), 0, 1_000_000)
    finally:
        await store.close()
    return [parse_record(f"0:{n}", raw, {}) for n, raw in enumerate(records)]


async def dead_letters(
    bus_file: Path | None, bootstrap: str | None, namespace: str | None
) -> list[Parked]:
    """From ``bus_file`` if given, else from Kafka; brokers and namespace default to
    task-core's settings (``TETHER_TASK_CORE_KAFKA_BOOTSTRAP_SERVERS``, ``..._TOPIC_NAMESPACE``)."""
    settings = TaskCoreSettings()
    ns = settings.topic_namespace if namespace is None else namespace
    if bus_file is not None:
        return await read_bus_file(bus_file, ns)
    return await read_kafka(bootstrap or settings.kafka_bootstrap_servers, ns)


BusFile = Annotated[
    Path | None,
    typer.Option(help="Read embedded mode's event log (e.g. .tether/bus.db) instead of Kafka"),
]
Brokers = Annotated[
    str | None,
    typer.Option(
        envvar=["TETHER_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"],
        help="Comma-separated Kafka brokers (default: task-core's setting)",
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        envvar="TETHER_TOPIC_NAMESPACE", help="Topic namespace (default: task-core's setting)"
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout")]


def _as_dict(p: Parked) -> dict[str, Any]:
    return {**asdict(p), "event_id": p.event_id, "event_type": p.event_type}


def list_parked(
    bus_file: BusFile = None,
    bootstrap_servers: Brokers = None,
    namespace: Namespace = None,
    as_json: AsJson = False,
) -> None:
    """List parked events: id, event, original topic, consumer, error."""
    parked = run(dead_letters(bus_file, bootstrap_servers, namespace))
    if as_json:
        print_json([_as_dict(p) for p in parked])
        return
    table = Table("id", "event", "type", "topic", "consumer", "error")
    for p in parked:
        table.add_row(
            p.id, p.event_id, p.event_type, p.original_topic or "-", p.consumer or "-", p.error[:80]
        )
    out.print(table)
    out.print(f"{len(parked)} parked event(s)")


def show(
    record: Annotated[str, typer.Argument(help="<partition>:<offset> or the event's id")],
    bus_file: BusFile = None,
    bootstrap_servers: Brokers = None,
    namespace: Namespace = None,
) -> None:
    """Show one parked event in full (JSON): its error, consumer, attempts and the event."""
    parked = run(dead_letters(bus_file, bootstrap_servers, namespace))
    chosen = [p for p in parked if record in (p.id, p.event_id)]
    if not chosen:
        typer.echo(f"error: no parked event {record!r} (see `tether dlq list`)", err=True)
        raise typer.Exit(1)
    print_json(_as_dict(chosen[0]))
