"""``tether dlq replay``: put parked events back on the topics they came from.

Each original CloudEvent is re-published unchanged (same id), so consumers that already handled
it drop it as a duplicate, and every consumer group of the original topic sees it again, not
only the one that failed: they are all idempotent, so that is harmless. Offsets of the replay
consumer group are committed after each re-publish: an interrupted replay resumes where it
stopped, and one event is replayed twice at worst (deduplicated downstream).

With ``--consumer`` the replay uses its own group (``tether-dlq-replay.<consumer>``): it skips
and commits past other consumers' events, which must stay replayable by the unfiltered group.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from tether_connector_runtime.deadletter import DeadLetter
from tether_events.topics import Topic, topic_name

REPLAY_GROUP = "tether-dlq-replay"


def _say_nothing(message: str) -> None:
    pass


async def replay_dead_letters(
    bootstrap_servers: str,
    namespace: str = "",
    *,
    consumer: str | None = None,
    limit: int | None = None,
    progress: Callable[[str], None] = _say_nothing,
) -> int:
    """Replay what the dead-letter topic held when the call began (events parked meanwhile wait
    for the next run, so a still-failing event cannot loop); returns how many were replayed."""
    dlq = topic_name(Topic.DEAD_LETTER, namespace)
    group = REPLAY_GROUP if consumer is None else f"{REPLAY_GROUP}.{consumer}"
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await reader.start()
    try:
        # Checked first: asking the producer about a missing topic could auto-create it.
        if dlq not in await reader.topics():
            progress(f"no dead-letter topic {dlq}: nothing to replay")
            return 0
        writer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=group,
            enable_idempotence=True,
            acks="all",
        )
        await writer.start()
        try:
            # Manual assignment (offsets still stored under the group): no rebalance to wait for.
            assigned = [TopicPartition(dlq, p) for p in sorted(await writer.partitions_for(dlq))]
            reader.assign(assigned)
            end = await reader.end_offsets(assigned)
            next_offset = {tp: await reader.position(tp) for tp in assigned}
            return await _replay(reader, writer, end, next_offset, consumer, limit, progress)
        finally:
            await writer.stop()
    finally:
        await reader.stop()


async def _replay(
    reader: AIOKafkaConsumer,
    writer: AIOKafkaProducer,
    end: dict[TopicPartition, int],
    next_offset: dict[TopicPartition, int],
    consumer: str | None,
    limit: int | None,
    progress: Callable[[str], None],
) -> int:
    replayed = idle = 0
    while any(next_offset[tp] < end[tp] for tp in end) and (limit is None or replayed < limit):
        batches = await reader.getmany(timeout_ms=500, max_records=100)
        idle = 0 if batches else idle + 1
        if idle > 20:  # ~10 s without records below the end offsets (e.g. retention removed them)
            progress("no more records arrive: stopping")
            break
        for tp, messages in batches.items():
            for message in messages:
                if message.offset >= end[tp] or (limit is not None and replayed >= limit):
                    break
                try:
                    letter = DeadLetter.model_validate_json(message.value)
                except ValidationError:
                    # e.g. a raw undecodable message the bus parked with headers: nothing to
                    # re-publish, so step past it.
                    progress(f"skipped {tp.partition}/{message.offset}: not a dead-letter record")
                else:
                    if consumer is None or letter.consumer == consumer:
                        await _republish(writer, letter)
                        replayed += 1
                        progress(
                            f"replayed {letter.original_event.get('id')} to "
                            f"{letter.original_topic} (parked by {letter.consumer}: "
                            f"{letter.error[:200]})"
                        )
                await reader.commit({tp: message.offset + 1})
                next_offset[tp] = message.offset + 1
    return replayed


async def _republish(writer: AIOKafkaProducer, letter: DeadLetter) -> None:
    subject = letter.original_event.get("subject")
    key = str(subject).encode() if subject is not None else None
    value = json.dumps(letter.original_event, separators=(",", ":")).encode()
    await writer.send_and_wait(letter.original_topic, value, key=key)


dlq_app = typer.Typer(help="The dead-letter topic: events whose handling kept failing.")


@dlq_app.callback()
def _dlq() -> None:
    """Inspect and replay parked events."""  # a callback keeps ``replay`` a named subcommand


@dlq_app.command()
def replay(
    consumer: Annotated[
        str | None, typer.Option(help="Only events parked by this consumer group")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Replay at most this many")] = None,
    bootstrap_servers: Annotated[
        str,
        typer.Option(
            envvar=["TETHER_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"],
            help="Comma-separated Kafka brokers",
        ),
    ] = "127.0.0.1:19092",
    namespace: Annotated[
        str, typer.Option(envvar="TETHER_TOPIC_NAMESPACE", help="Topic namespace (prefix)")
    ] = "",
) -> None:
    """Re-publish parked events to their original topics (idempotent consumers dedupe)."""
    count = asyncio.run(
        replay_dead_letters(
            bootstrap_servers, namespace, consumer=consumer, limit=limit, progress=typer.echo
        )
    )
    typer.echo(f"replayed {count} event(s)")
