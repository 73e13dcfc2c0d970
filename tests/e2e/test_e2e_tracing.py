"""One change is one trace across every process: a core edit made through the gateway is
followed through task-core, its outbox and Kafka to the Trello connector and its call to
Trello, each hop the child of the one before; a Trello edit's provider change is followed
into task-core's merge and the task change that publishes. Every service runs as its own
process with ``TRACING=console`` and the spans are read back from their logs."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from tests.e2e.conftest import Deploy, one_world
from tests.e2e.spans import Span, next_hop, spans_of, tracing_env
from tests.e2e.trello_world import TrelloWorld, connected_world, trello_env
from tests.e2e.world import core_has, eventually
from tether_devinfra.emulators import EmulatorProcess
from tether_events.topics import Topic

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def test_a_core_edit_is_one_trace_down_to_the_trello_call(
    deploy: Deploy, trello_emulator: EmulatorProcess
) -> None:
    env = trello_env(trello_emulator) | tracing_env()
    async with one_world(deploy, env, connected_world, trello_emulator) as world:
        task_id, card_id = await world.export_new_task()
        await world.edit_core(task_id, title="Plan the week (v2)")
        await eventually(lambda: _card_named(world, card_id, "Plan the week (v2)"), what="edit")
        await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
        await eventually(core_has(world, task_id, description="Agenda"), what="the card edit")
        deployment = world.deployment
    # Read once every service stopped: each exports its last spans as it stops.
    spans = spans_of(deployment)

    edit = _one(
        span
        for span in spans
        if span.service == "api-gateway"
        and span.kind == "SERVER"
        and span.name == "PATCH /v1/tasks/{task_id}"
        and span.attributes.get("url.path") == f"/v1/tasks/{task_id}"
    )
    assert edit.parent_id is None  # the trace starts at the client's request
    core = next_hop(spans, edit, service="task-core", kind="SERVER")
    assert core.attributes["url.path"].endswith(f"/tasks/{task_id}")
    # The event left the outbox after the request ended, still in its trace.
    published = next_hop(spans, core, service="task-core", kind="PRODUCER")
    assert published.attributes["messaging.destination.name"].endswith(Topic.TASK_CHANGED.value)
    assert published.attributes["tether.task_id"] == task_id
    handled = next_hop(spans, published, service="trello-connector", kind="CONSUMER")
    event_id = published.attributes["messaging.message.id"]
    assert handled.attributes["messaging.message.id"] == event_id
    call = next_hop(spans, handled, service="trello-connector", kind="CLIENT")
    assert call.name == "Trello PUT"
    assert card_id in call.attributes["url.path"]
    assert call.attributes["http.response.status_code"] == 200
    # The other connectors handled the same event in the same trace, and called no one.
    for other in ("asana-connector", "jira-connector"):
        theirs = next_hop(spans, published, service=other, kind="CONSUMER")
        assert not [s for s in spans if s.parent_id == theirs.span_id and s.kind == "CLIENT"]

    # Back: the card edit's provider change (from the webhook, or a reconciliation that saw
    # it first) is merged by task-core in its trace, and the merged task leaves in it too.
    [changed] = [
        span
        for span in spans
        if span.service == "trello-connector"
        and span.kind == "PRODUCER"
        and span.attributes["messaging.destination.name"].endswith(Topic.PROVIDER_CHANGED.value)
        and span.attributes["tether.task_id"] == task_id
    ]
    merged = next_hop(spans, changed, service="task-core", kind="CONSUMER")
    republished = next_hop(spans, merged, service="task-core", kind="PRODUCER")
    assert republished.attributes["messaging.destination.name"].endswith(Topic.TASK_CHANGED.value)


def _one(spans: Iterable[Span]) -> Span:
    found = list(spans)
    assert len(found) == 1, found
    return found[0]


async def _card_named(world: TrelloWorld, card_id: str, name: str) -> bool:
    return bool((await world.card(card_id)).get("name") == name)
