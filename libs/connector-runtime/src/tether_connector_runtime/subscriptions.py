"""A connector's bus subscriptions: task changes (coalesced per task) and export requests.

Provider failures never reach the bus: the pipeline parks them on their link and the handler
returns, so the partition moves on. What still raises is ours: the database or broker being
down (retried in place, never parked: the event is not at fault), or an event that can never
be handled (a bug, invalid content, a provider answer that will never change), which goes to
the dead-letter topic after a few tries (``tether dlq replay`` puts it back).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from tether_connector_runtime.coalesce import newer_task_state, task_of
from tether_connector_runtime.deadletter import RetryPolicy, dead_letter_handler, raw_publisher
from tether_connector_runtime.pipeline import exports, propagation, writes
from tether_connector_runtime.state import ConnectorState
from tether_events import CloudEvent, ExportRequested, TaskChanged, Topic, topic_name
from tether_events.bus import Handler


async def subscribe(stack: AsyncExitStack, state: ConnectorState, provider: str) -> None:
    settings, bus, p = state.settings, state.bus, state.pipeline
    group = f"{provider}-connector"
    ns = settings.topic_namespace
    publisher = await stack.enter_async_context(raw_publisher(settings, bus))
    policy = RetryPolicy(attempts=settings.max_attempts, never_park=(SQLAlchemyError, KafkaError))

    def guarded(handler: Handler, topic: str, name: str) -> Handler:
        return dead_letter_handler(
            handler,
            policy=policy,
            publisher=publisher,
            original_topic=topic,
            dead_letter_topic=topic_name(Topic.DEAD_LETTER, ns),
            consumer=f"{group}.{name}",
        )

    async def on_task_changed(event: CloudEvent[Any]) -> None:
        if isinstance(event.data, TaskChanged):
            with propagation.applying(event.data):
                await writes.on_task_changed(p, event.data)

    async def on_link_event(event: CloudEvent[Any]) -> None:
        if isinstance(event.data, ExportRequested) and event.data.provider == provider:
            await exports.export(p, event.data)

    task_topic = topic_name(Topic.TASK_CHANGED, ns)
    link_topic = topic_name(Topic.LINK_EVENTS, ns)
    # Snapshots of one task waiting in a batch collapse into the newest: a burst of edits
    # costs one provider write. Dead-lettering stays per event.
    bus.subscribe(
        [task_topic],
        group,
        guarded(on_task_changed, task_topic, "task-changed"),
        coalesce_by=task_of,
        newer_of=newer_task_state,
    )
    bus.subscribe([link_topic], group, guarded(on_link_event, link_topic, "exports"))
