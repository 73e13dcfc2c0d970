"""The connection's owner moves to another time zone after dates were written to Trello as
12:00 in their old zone: those cards still read back as the same dates (no change), new dates
are written in the new zone, and a late webhook about a date-only due dates that due with its
action (its ``due`` read in the link's zones, not in UTC). Against the Trello emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tether_common.db import transaction
from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.pipeline.reconcile import reconcile_once
from tether_connector_runtime.testing import EventTap, serving, until
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_events import (
    ExportRequested,
    LinkChanged,
    ProviderItemChanged,
    TaskChanged,
    Topic,
    VectorClock,
    topic_name,
)
from tether_events.inprocess import InProcessBus
from trello_connector.app import create_app
from trello_connector.config import TrelloSettings

TOKEN = "a" * 64
MEMBER = "5e0000000000000000000001"
KEY = {"key": "sandbox-key", "token": TOKEN}
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


@dataclass
class World:
    api: httpx.AsyncClient  # the connector's own HTTP API
    trello: httpx.AsyncClient  # the emulator: its API and, under /_emulator, a person
    bus: InProcessBus
    tap: EventTap  # what the connector published
    pipeline: Pipeline
    list_id: str
    wall: list[datetime]  # the emulator's clock: dates of actions and card activity

    def changes(self) -> list[ProviderItemChanged]:
        return self.tap.of(ProviderItemChanged)

    def tick(self, minutes: int) -> datetime:
        self.wall[0] += timedelta(minutes=minutes)
        return self.wall[0]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    wall = [T0]
    to_connector = httpx.ASGITransport(app=None)  # type: ignore[arg-type]  # wired below
    emulator = create_trello_emulator(
        api_secret="app-secret",
        tokens={TOKEN: MEMBER},
        webhook_transport=to_connector,
        webhook_retry_delays=(0.01, 0.01, 0.01),
        wall_clock=lambda: wall[0],
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
    tap = EventTap(bus)
    async with serving(connector, bus, emulator, "http://trello.test") as (api, trello):
        board = await trello.post(
            "/_emulator/boards", json={"name": "Work", "lists": ["To do"], "members": [MEMBER]}
        )
        pipeline = connector.state.connector.pipeline
        yield World(api, trello, bus, tap, pipeline, board.json()["lists"][0]["id"], wall)
    await get_emulator(emulator).aclose()


def task(version: int, clock: dict[str, int], due: date) -> TaskChanged:
    return TaskChanged(
        task_id="task-1",
        tenant_id="acme",
        version=version,
        clock=VectorClock(clock),
        origin="core",
        updated_at=T0,
        title="Plan the week",
        description="",
        due_date=due,
        completed=False,
        deleted=False,
    )


async def export(w: World, zone: str, due: date) -> str:
    """Connect as ann (in ``zone``) and export a task due on ``due``; the card's id."""
    created = await w.api.post(
        "/internal/v1/tenants/acme/connections",
        json={"token": TOKEN},
        params={"owner_id": "ann", "time_zone": zone},
    )
    assert created.status_code == 201, created.text
    request = ExportRequested(
        link_id="link-1",
        task_id="task-1",
        tenant_id="acme",
        provider="trello",
        connection_id=created.json()["id"],
        target={"list_id": w.list_id},
        task=task(1, {"core": 1}, due),
    )
    await w.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await until(lambda: any(x.status == "active" for x in w.tap.of(LinkChanged)))
    return str(next(x.external_id for x in w.tap.of(LinkChanged)))


async def move_owner(w: World, zone: str) -> None:
    moved = await w.api.put(
        "/internal/v1/tenants/acme/owners/ann/time-zone", json={"time_zone": zone}
    )
    assert moved.json() == {"connections": 1}, moved.text


async def card_due(w: World, card_id: str) -> str:
    return str((await w.trello.get(f"/1/cards/{card_id}", params=KEY)).json()["due"])


SUBSCRIBED = (
    (Topic.TASK_CHANGED, "trello-connector"),
    (Topic.LINK_EVENTS, "trello-connector"),
    (Topic.LINK_EVENTS, "test-tap"),
    (Topic.PROVIDER_CHANGED, "test-tap"),
)


async def settled(w: World) -> None:
    """Every webhook delivered, the outbox empty and the tap caught up: what has not been
    published then will not be (a wait for a condition, never for a time)."""
    for _ in range(500):
        await w.trello.post("/_emulator/webhooks/flush")
        async with w.pipeline.sessions() as session:
            table = w.pipeline.outbox.table
            backlog = (await session.execute(select(func.count()).select_from(table))).scalar()
        behind = [
            (topic, group)
            for topic, group in SUBSCRIBED
            if await w.bus.store.committed(topic_name(topic), group)
            < len(w.bus.store.logs[topic_name(topic)].records)
        ]
        if not backlog and not behind:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the connector never settled")


async def due_zone(w: World) -> str | None:
    async with transaction(w.pipeline.sessions) as session:
        link = await w.pipeline.repo.link(session, "link-1")
    assert link is not None
    return link.due_zone


@pytest.mark.parametrize(
    ("old", "new", "due", "written"),
    [
        # Dec 1 in Auckland (UTC+13) is Nov 30 23:00 UTC: Honolulu's Nov 30, 1 PM.
        ("Pacific/Auckland", "Pacific/Honolulu", date(2026, 12, 1), "2026-11-30T23:00:00.000Z"),
        # A day after New York's clocks went forward (UTC-4), read by a Kathmandu owner.
        ("America/New_York", "Asia/Kathmandu", date(2026, 3, 9), "2026-03-09T16:00:00.000Z"),
    ],
)
async def test_dates_written_before_the_owner_moved_still_read_back_as_no_change(
    world: World, old: str, new: str, due: date, written: str
) -> None:
    card_id = await export(world, old, due)
    assert await card_due(world, card_id) == written
    assert await due_zone(world) == old
    await move_owner(world, new)

    # A person edits another field: the card is read, its due (12:00 in the old zone) with it.
    world.tick(5)
    await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Plan the month"})
    await settled(world)
    [change] = world.changes()
    assert change.new_values == {"title": "Plan the month"}  # no due: the date is unchanged


async def test_a_new_date_is_written_in_the_new_zone_and_its_echo_is_no_change(
    world: World,
) -> None:
    card_id = await export(world, "Pacific/Auckland", date(2026, 12, 1))
    await move_owner(world, "Pacific/Honolulu")
    moved = task(2, {"core": 2}, date(2026, 12, 5))
    await world.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        moved.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await settled(world)
    assert await card_due(world, card_id) == "2026-12-05T22:00:00.000Z"  # 12:00 in Honolulu
    await settled(world)
    assert world.changes() == []  # our own write came back: no change
    assert await due_zone(world) == "Pacific/Honolulu"


async def test_a_late_webhook_dates_a_date_only_due_with_its_action(world: World) -> None:
    card_id = await export(world, "Pacific/Auckland", date(2026, 12, 1))
    # A person sets Dec 3 (12:00 in Auckland) and, later, renames the card; the due's
    # webhook arrives after both, when the card's last activity is the rename (whose own
    # webhook is lost, so the due's is the only one and the order is fixed).
    await world.trello.post("/_emulator/webhooks/pause")
    due_set = world.tick(5)
    await world.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"due": "2026-12-02T23:00:00.000Z"}
    )
    await world.trello.post("/_emulator/webhooks/drop-next")
    renamed = world.tick(5)
    await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Plan the month"})
    await world.trello.post("/_emulator/webhooks/resume")
    await settled(world)

    [first] = world.changes()
    # Dated by the action that set it, not by the rename after it (latest_wins compares these).
    assert first.new_values == {"due": "2026-12-03"}
    assert first.field_edited_at == {"due": due_set}
    # The rename, which this webhook does not date, waits for its own action: the card's
    # last activity could as well be a write of ours (pipeline/settling.py).
    await reconcile_once(world.pipeline)  # the board's actions since its cursor
    await settled(world)
    [_, second] = world.changes()
    assert second.new_values == {"title": "Plan the month"}
    assert second.field_edited_at == {"title": renamed}
