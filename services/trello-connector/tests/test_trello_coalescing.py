"""Per-link coalescing in the Trello connector: a burst of core edits waiting in one batch costs
one card update, and a snapshot Trello refuses for good is its own link's error alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tether_connector_runtime.testing import EventTap, serving
from tether_connector_runtime.testing import until as wait_until
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_events import (
    CloudEvent,
    ExportRequested,
    LinkChanged,
    TaskChanged,
    Topic,
    encode,
    topic_name,
)
from tether_events.inprocess import InProcessBus
from tether_events.testing import task_changed
from trello_connector.app import create_app
from trello_connector.config import TrelloSettings

TOKEN = "a" * 64
MEMBER = "5e0000000000000000000001"
AUTH = {"key": "sandbox-key", "token": TOKEN}


@dataclass
class Harness:
    api: httpx.AsyncClient  # the connector's own HTTP API
    trello: httpx.AsyncClient  # the emulator: its API as the user, and its control API
    bus: InProcessBus
    tap: EventTap  # the link events, as task-core reads them
    list_id: str

    @property
    def links(self) -> list[LinkChanged]:
        return self.tap.of(LinkChanged)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    await wait_until(condition, within=within)


def snapshot(task_id: str, version: int, title: str) -> CloudEvent[TaskChanged]:
    return task_changed(task_id, version, title=title)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    to_connector = httpx.ASGITransport(app=None)  # type: ignore[arg-type]  # wired below
    emulator = create_trello_emulator(
        api_secret="app-secret",
        tokens={TOKEN: MEMBER},
        webhook_transport=to_connector,
        webhook_retry_delays=(0.01, 0.01, 0.01),
    )
    settings = TrelloSettings(
        bus="inprocess",
        api_url="http://trello.test/1",
        api_key="sandbox-key",
        api_secret="app-secret",
        public_url="http://tether.test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/trello.db",
        reconcile_interval=3600,
    )
    bus = InProcessBus()
    connector = create_app(settings, bus=bus, trello_transport=httpx.ASGITransport(app=emulator))
    to_connector.app = connector
    tap = EventTap(bus, topics=[Topic.LINK_EVENTS])
    async with serving(connector, bus, emulator, "http://trello.test") as (api, trello):
        board = (
            await trello.post(
                "/_emulator/boards",
                json={"name": "Work", "lists": ["To do"], "members": [MEMBER]},
            )
        ).json()
        yield Harness(api, trello, bus, tap, board["lists"][0]["id"])
    await get_emulator(emulator).aclose()


async def export(h: Harness, *task_ids: str) -> dict[str, str]:
    """Export the tasks (each at version 1); returns task id -> card id."""
    created = await h.api.post("/internal/v1/tenants/acme/connections", json={"token": TOKEN})
    assert created.status_code == 201, created.text
    for task_id in task_ids:
        request = ExportRequested(
            link_id=f"link-{task_id}",
            task_id=task_id,
            tenant_id="acme",
            provider="trello",
            connection_id=created.json()["id"],
            target={"list_id": h.list_id},
            task=snapshot(task_id, 1, "Plan the week").data,
        )
        await h.bus.publish(
            topic_name(Topic.LINK_EVENTS),
            request.envelope(source="/test", subject=task_id, tenant_id="acme"),
        )
    await until(lambda: {x.task_id for x in h.links if x.status == "active"} == set(task_ids))
    return {x.task_id: str(x.external_id) for x in h.links if x.status == "active"}


async def in_one_batch(h: Harness, burst: list[CloudEvent[TaskChanged]]) -> None:
    """The burst lands on the task topic at once: the connector finds it queued together."""
    await h.trello.delete("/_emulator/requests")
    await h.bus.store.append(topic_name(Topic.TASK_CHANGED), *map(encode, burst))


async def handled(h: Harness) -> None:
    """Wait until the connector handled every task change (its group's offset is at the end
    of the log): no write those changes cause can still be on its way."""
    topic = topic_name(Topic.TASK_CHANGED)
    for _ in range(500):
        if await h.bus.store.committed(topic, "trello-connector") == len(
            h.bus.store.logs[topic].records
        ):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the connector never caught up with the task changes")


async def card_updates(h: Harness, card_id: str) -> list[int]:
    """Statuses of the card updates Trello received since the burst."""
    log = (await h.trello.get("/_emulator/requests")).json()
    return [r["status"] for r in log if (r["method"], r["path"]) == ("PUT", f"/1/cards/{card_id}")]


async def card_name(h: Harness, card_id: str) -> str:
    return str((await h.trello.get(f"/1/cards/{card_id}", params=AUTH)).json()["name"])


async def eventually_named(h: Harness, card_id: str, name: str) -> None:
    for _ in range(250):
        if await card_name(h, card_id) == name:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"card {card_id} never became {name!r}")


async def test_a_burst_of_core_edits_costs_one_card_update(harness: Harness) -> None:
    cards = await export(harness, "task-1")
    burst = [snapshot("task-1", v, f"Plan the week (v{v})") for v in range(2, 12)]
    await in_one_batch(harness, burst)
    await eventually_named(harness, cards["task-1"], "Plan the week (v11)")
    await handled(harness)  # a superseded snapshot's write would have happened by now
    assert await card_updates(harness, cards["task-1"]) == [200]


async def test_a_snapshot_trello_refuses_is_its_own_links_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refusal the connector did not foresee: its length limits unknown, Trello's 400 for a
    # name over 16384 characters is permanent.
    monkeypatch.setattr("trello_connector.adapter.FIELD_LIMITS", {})
    cards = await export(harness, "task-1", "task-2")
    too_long = "x" * 16385
    burst = [
        snapshot("task-1", 2, "Plan the week (v2)"),
        snapshot("task-2", 2, "Review (v2)"),
        snapshot("task-1", 3, too_long),
        snapshot("task-2", 3, "Review (v3)"),
    ]
    await in_one_batch(harness, burst)
    await eventually_named(harness, cards["task-2"], "Review (v3)")
    await until(lambda: any(x.task_id == "task-1" and x.error for x in harness.links))
    await handled(harness)
    # Not a dead letter: task-1's link stays active with Trello's words (refusals.py).
    assert harness.bus.store.logs[topic_name(Topic.DEAD_LETTER)].records == []
    refused = [x for x in harness.links if x.task_id == "task-1"][-1]
    assert refused.status == "active"
    assert "400" in str(refused.error)
    # Only the newest of task-1 was tried: its superseded v2 was never written, so its card
    # kept the exported name.
    assert await card_updates(harness, cards["task-1"]) == [400]
    assert await card_name(harness, cards["task-1"]) == "Plan the week"
    assert await card_updates(harness, cards["task-2"]) == [200]
