"""Embedded mode traces one change as the distributed deployment does (see
``test_e2e_tracing.py``): a core edit made through the gateway is followed through task-core,
its outbox and the in-process bus's log to the Trello connector and its call to Trello, each
hop the child of the one before; a Trello edit's provider change is followed into task-core's
merge and the task change that publishes.

Tether runs as ``make run`` starts it, with ``TETHER_TRACING=console``: one process, so every
span is ``service.name`` ``tether``, and a service's spans are told apart by what they name
(the request's path, the consuming group). The spans are read back from its log once it has
stopped. No Kafka or PostgreSQL here, so only the ``e2e`` marker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.embedded import EmbeddedTether
from tests.e2e.spans import Span, next_hop, spans_in_log
from tests.e2e.world import eventually
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import free_port
from tether_emulators.trello.emulator import SANDBOX_TOKEN
from tether_events.topics import Topic

pytestmark = [pytest.mark.e2e]

SERVICE = "tether"  # embedded mode's one process


@pytest.fixture
def tether(tmp_path: Path, trello_emulator: EmulatorProcess) -> Iterator[EmbeddedTether]:
    home = tmp_path / "tether"
    home.mkdir()
    tether = EmbeddedTether(
        home, free_port(), trello_emulator, extra_env={"TETHER_TRACING": "console"}
    )
    tether.token = tether.mint_token()
    try:
        tether.start()
        yield tether
    finally:
        tether.stop()


@dataclass
class Clients:
    api: httpx.AsyncClient  # Tether, with a token
    trello: httpx.AsyncClient  # the emulator (Trello's API and its control API)
    board: dict[str, Any]  # the Sandbox board

    async def task(self, task_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/v1/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def card(self, card_id: str) -> dict[str, Any]:
        answer = await self.trello.get(f"/_emulator/boards/{self.board['id']}/cards")
        assert answer.status_code == 200, answer.text
        return next((c for c in answer.json() if c["id"] == card_id), {})


@pytest.fixture
async def clients(
    tether: EmbeddedTether, trello_emulator: EmulatorProcess
) -> AsyncIterator[Clients]:
    async with (
        httpx.AsyncClient(
            base_url=tether.url, timeout=30, headers={"Authorization": f"Bearer {tether.token}"}
        ) as api,
        httpx.AsyncClient(base_url=trello_emulator.url, timeout=30) as trello,
    ):
        overview = (await trello.get("/_emulator")).json()
        board = next(b for b in overview["boards"] if b["name"] == "Sandbox")
        yield Clients(api, trello, board)


async def export_new_task(clients: Clients) -> tuple[str, str]:
    """A task exported to the Sandbox board's first list: (task id, card id) once active."""
    api = clients.api
    connected = await api.post(
        "/v1/connections", json={"provider": "trello", "token": SANDBOX_TOKEN}
    )
    assert connected.status_code == 201, connected.text
    created = await api.post("/v1/tasks", json={"title": "Plan the week"})
    assert created.status_code == 201, created.text
    task_id = str(created.json()["id"])
    exported = await api.post(
        f"/v1/tasks/{task_id}/exports",
        json={
            "connection_id": connected.json()["id"],
            "target": {"list_id": clients.board["lists"][0]["id"]},
        },
    )
    assert exported.status_code == 202, exported.text

    async def active_link() -> dict[str, Any] | None:
        links = (await api.get(f"/v1/tasks/{task_id}/links")).json()
        return next((link for link in links if link["status"] == "active"), None)

    link = await eventually(active_link, what="the Trello link to be active")
    return task_id, str(link["external_id"])


async def test_a_core_edit_is_one_trace_down_to_the_trello_call_in_embedded_mode(
    tether: EmbeddedTether, clients: Clients
) -> None:
    task_id, card_id = await export_new_task(clients)
    edited = await clients.api.patch(f"/v1/tasks/{task_id}", json={"title": "Plan the week (v2)"})
    assert edited.status_code == 200, edited.text

    async def card_renamed() -> bool:
        return bool((await clients.card(card_id)).get("name") == "Plan the week (v2)")

    await eventually(card_renamed, what="the edit on the card")
    answer = await clients.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
    assert answer.status_code == 200, answer.text

    async def core_described() -> bool:
        return (await clients.task(task_id)).get("description") == "Agenda"

    await eventually(core_described, what="the card edit in the core")
    # Read once Tether stopped: it exports its last spans as it stops.
    tether.stop()
    spans = spans_in_log(SERVICE, tether.log)

    edit = _one(
        span
        for span in spans
        if span.kind == "SERVER"
        and span.name == "PATCH /v1/tasks/{task_id}"
        and span.attributes.get("url.path") == f"/v1/tasks/{task_id}"
    )
    assert edit.parent_id is None  # the trace starts at the client's request
    core = next_hop(spans, edit, kind="SERVER")
    assert core.attributes["url.path"].startswith("/internal/v1/tenants/")
    assert core.attributes["url.path"].endswith(f"/tasks/{task_id}")
    # The event left the outbox after the request ended, still in its trace.
    published = next_hop(spans, core, kind="PRODUCER")
    assert published.attributes["messaging.system"] == "inprocess"
    assert published.attributes["messaging.destination.name"].endswith(Topic.TASK_CHANGED.value)
    assert published.attributes["tether.task_id"] == task_id
    handled = next_hop(spans, published, _group("trello-connector"), kind="CONSUMER")
    assert (
        handled.attributes["messaging.message.id"] == published.attributes["messaging.message.id"]
    )
    call = next_hop(spans, handled, kind="CLIENT")
    assert call.name == "Trello PUT"
    assert card_id in call.attributes["url.path"]
    assert call.attributes["http.response.status_code"] == 200
    # The other connectors handled the same event in the same trace, and called no one.
    for other in ("asana-connector", "jira-connector"):
        theirs = next_hop(spans, published, _group(other), kind="CONSUMER")
        assert not [s for s in spans if s.parent_id == theirs.span_id and s.kind == "CLIENT"]

    # Back: the card edit's provider change (from the webhook, or a reconciliation that saw
    # it first) is merged by task-core in its trace, and the merged task leaves in it too.
    [changed] = [
        span
        for span in spans
        if span.kind == "PRODUCER"
        and span.attributes["messaging.destination.name"].endswith(Topic.PROVIDER_CHANGED.value)
        and span.attributes["tether.task_id"] == task_id
    ]
    merged = next_hop(spans, changed, _group("task-core"), kind="CONSUMER")
    republished = next_hop(spans, merged, kind="PRODUCER")
    assert republished.attributes["messaging.destination.name"].endswith(Topic.TASK_CHANGED.value)


def _group(name: str) -> dict[str, str]:
    return {"messaging.consumer.group.name": name}


def _one(spans: Iterable[Span]) -> Span:
    found = list(spans)
    assert len(found) == 1, found
    return found[0]
