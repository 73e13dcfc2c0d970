"""The Trello connector against the Trello emulator, in memory: export, both directions of
sync, echo suppression, signatures, and reconciliation of a dropped webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tether_connector_runtime.pipeline import observations
from tether_connector_runtime.pipeline.reconcile import reconcile_once
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.testing import EventTap, serving
from tether_connector_runtime.testing import until as wait_until
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


@dataclass
class Harness:
    api: httpx.AsyncClient  # the connector's own HTTP API
    trello: httpx.AsyncClient  # the emulator, as a person in Trello
    bus: InProcessBus
    tap: EventTap  # what the connector published
    connector: Any
    list_id: str
    board_id: str


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    await wait_until(condition, within=within)


def task(version: int, clock: dict[str, int], **fields: Any) -> TaskChanged:
    values: dict[str, Any] = {
        "title": "Plan the week",
        "description": "",
        "due_date": None,
        "completed": False,
        "deleted": False,
    }
    values.update(fields)
    return TaskChanged(
        task_id="task-1",
        tenant_id="acme",
        version=version,
        clock=VectorClock(clock),
        origin="core",
        updated_at=datetime.now(UTC),
        **values,
    )


@pytest.fixture
def trello_overrides() -> dict[str, Any]:
    """Extra connector settings; a test overrides it with @pytest.mark.parametrize."""
    return {}


@pytest.fixture
async def harness(tmp_path: Path, trello_overrides: dict[str, Any]) -> AsyncIterator[Harness]:
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
        **trello_overrides,
    )
    bus = InProcessBus()
    connector = create_app(settings, bus=bus, trello_transport=httpx.ASGITransport(app=emulator))
    to_connector.app = connector
    tap = EventTap(bus)
    async with serving(connector, bus, emulator, "http://trello.test") as (api, trello):
        board = (
            await trello.post(
                "/_emulator/boards",
                json={"name": "Work", "lists": ["To do", "Done"], "members": [MEMBER]},
            )
        ).json()
        yield Harness(api, trello, bus, tap, connector, board["lists"][0]["id"], board["id"])
    await get_emulator(emulator).aclose()


async def connect_and_export(h: Harness) -> str:
    created = await h.api.post("/internal/v1/tenants/acme/connections", json={"token": TOKEN})
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    assert connection_id.startswith("trello_")
    request = ExportRequested(
        link_id="link-1",
        task_id="task-1",
        tenant_id="acme",
        provider="trello",
        connection_id=connection_id,
        target={"list_id": h.list_id},
        task=task(1, {"core": 1}, due_date=date(2026, 12, 1)),
    )
    await h.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await until(lambda: any(x.status == "active" for x in h.tap.of(LinkChanged)))
    return str(h.tap.of(LinkChanged)[0].external_id)


async def settled(h: Harness) -> None:
    """Wait until nothing is left to happen: every webhook delivered, every outbox row
    published and every event handled by the connector and the tap. What has not happened
    then will not (a wait for a condition, never for a time)."""
    p = h.connector.state.connector.pipeline
    subscribed = {
        Topic.TASK_CHANGED: ("trello-connector",),
        Topic.LINK_EVENTS: ("trello-connector", "test-tap"),
        Topic.PROVIDER_CHANGED: ("test-tap",),
    }
    for _ in range(500):
        await h.trello.post("/_emulator/webhooks/flush")
        async with p.sessions() as session:
            outbox = p.outbox.table
            backlog = (await session.execute(select(func.count()).select_from(outbox))).scalar()
        behind = [
            (topic, group)
            for topic, groups in subscribed.items()
            for group in groups
            if await h.bus.store.committed(topic_name(topic), group)
            < len(h.bus.store.logs[topic_name(topic)].records)
        ]
        if not backlog and not behind:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the connector never settled")


async def cards(h: Harness) -> list[dict[str, Any]]:
    return list(
        (
            await h.trello.get(
                f"/1/boards/{h.board_id}/cards", params={"key": "sandbox-key", "token": TOKEN}
            )
        ).json()
    )


async def test_a_bad_token_is_refused_with_the_reason(harness: Harness) -> None:
    answer = await harness.api.post(
        "/internal/v1/tenants/acme/connections", json={"token": "b" * 64}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "token_rejected"
    assert "invalid token" in answer.json()["error"]["message"]


async def test_export_creates_exactly_one_card_and_a_board_webhook(harness: Harness) -> None:
    card_id = await connect_and_export(harness)
    (card,) = await cards(harness)
    assert card["id"] == card_id
    assert card["name"] == "Plan the week"
    assert card["due"].startswith("2026-12-01")
    hooks = (await harness.trello.get("/_emulator/webhooks")).json()
    assert [h["idModel"] for h in hooks] == [harness.board_id]
    link = harness.tap.of(LinkChanged)[0]
    assert link.replica == f"trello:{card_id}"


async def test_an_export_to_another_tenants_connection_fails(harness: Harness) -> None:
    created = await harness.api.post("/internal/v1/tenants/acme/connections", json={"token": TOKEN})
    request = ExportRequested(
        link_id="link-x",
        task_id="task-9",
        tenant_id="intruder",
        provider="trello",
        connection_id=created.json()["id"],
        target={"list_id": harness.list_id},
        task=task(1, {"core": 1}),
    )
    await harness.bus.publish(
        topic_name(Topic.LINK_EVENTS),
        request.envelope(source="/test", subject="task-9", tenant_id="intruder"),
    )
    await until(lambda: any(x.status == "failed" for x in harness.tap.of(LinkChanged)))
    (failed,) = harness.tap.of(LinkChanged)
    assert "in this tenant" in str(failed.error)
    assert await cards(harness) == []


async def test_a_redelivered_export_makes_no_second_card(harness: Harness) -> None:
    await connect_and_export(harness)
    request = next(
        e
        for e in harness.bus.store.logs[topic_name(Topic.LINK_EVENTS)].records
        if b"tether.link.requested.v1" in e
    )
    await harness.bus.store.append(topic_name(Topic.LINK_EVENTS), request)
    await until(lambda: len(harness.tap.of(LinkChanged)) == 2)
    assert len(await cards(harness)) == 1
    first, second = harness.tap.of(LinkChanged)
    assert first.external_id == second.external_id


async def test_a_crash_between_create_and_record_adopts_the_card(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = harness.connector.state.connector.pipeline
    real_save = state.repo.save_link
    crashes: list[int] = []

    async def crash_once(*args: Any, **kwargs: Any) -> None:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("killed after Trello created the card")
        await real_save(*args, **kwargs)

    monkeypatch.setattr(state.repo, "save_link", crash_once)
    card_id = await connect_and_export(harness)  # the bus redelivers after the failure
    assert crashes == [1]
    assert [c["id"] for c in await cards(harness)] == [card_id]


async def test_a_core_edit_reaches_the_card_and_its_echo_stops(harness: Harness) -> None:
    card_id = await connect_and_export(harness)
    changed = task(2, {"core": 2}, title="Plan the week (v2)", due_date=date(2026, 12, 1))
    await harness.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        changed.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )

    async def title() -> str:
        return str((await cards(harness))[0]["name"])

    for _ in range(200):
        if await title() == "Plan the week (v2)":
            break
        await asyncio.sleep(0.02)
    assert await title() == "Plan the week (v2)"
    await settled(harness)
    # Our own write came back as a webhook: recognised as an echo, nothing published.
    assert harness.tap.of(ProviderItemChanged) == []
    assert card_id


async def test_a_card_edit_becomes_a_provider_change_on_its_base(harness: Harness) -> None:
    card_id = await connect_and_export(harness)
    await harness.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
    await until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.replica == f"trello:{card_id}"
    assert change.base_clock == VectorClock({"core": 1})
    assert change.base_values == {"description": ""}
    assert change.new_values == {"description": "Agenda"}
    # latest_wins compares when THAT field was edited: the date of Trello's action.
    actions = await h_actions(harness, card_id)
    edit = next(a for a in actions if a["type"] == "updateCard" and "desc" in a["data"]["old"])
    edited = datetime.fromisoformat(edit["date"].replace("Z", "+00:00"))
    assert change.field_edited_at == {"description": edited}


async def h_actions(h: Harness, card_id: str) -> list[dict[str, Any]]:
    found = await h.trello.get(
        f"/1/boards/{h.board_id}/actions", params={"key": "sandbox-key", "token": TOKEN}
    )
    return [a for a in found.json() if a["data"].get("card", {}).get("id") == card_id]


async def test_a_bad_signature_is_401_and_changes_nothing(harness: Harness) -> None:
    await connect_and_export(harness)
    body = b'{"action": {"id": "x", "data": {}}, "model": {"id": "b"}}'
    answer = await harness.api.post(
        "/webhooks/trello", content=body, headers={"X-Trello-Webhook": "bm9wZQ=="}
    )
    assert answer.status_code == 401
    missing = await harness.api.post("/webhooks/trello", content=body)
    assert missing.status_code == 401
    assert harness.tap.of(ProviderItemChanged) == []


async def test_a_dropped_webhook_is_repaired_by_reconciliation(harness: Harness) -> None:
    card_id = await connect_and_export(harness)
    await reconcile_once(harness.connector.state.connector.pipeline)  # sets the cursor
    await harness.trello.post("/_emulator/webhooks/drop-next", params={"count": 1})
    await harness.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed"})
    await settled(harness)
    assert harness.tap.of(ProviderItemChanged) == []  # the webhook was lost
    assert await reconcile_once(harness.connector.state.connector.pipeline) == 1
    await until(lambda: bool(harness.tap.of(ProviderItemChanged)))  # through the outbox
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed"}


async def export_more(h: Harness, connection_id: str, count: int) -> dict[str, str]:
    """Export tasks task-2.. (link-2..) too; returns link id -> card id."""
    for n in range(2, count + 2):
        request = ExportRequested(
            link_id=f"link-{n}",
            task_id=f"task-{n}",
            tenant_id="acme",
            provider="trello",
            connection_id=connection_id,
            target={"list_id": h.list_id},
            task=task(1, {"core": 1}).model_copy(update={"task_id": f"task-{n}"}),
        )
        await h.bus.publish(
            topic_name(Topic.LINK_EVENTS),
            request.envelope(source="/test", subject=f"task-{n}", tenant_id="acme"),
        )
    await until(lambda: len({x.link_id for x in h.tap.of(LinkChanged)}) == count + 1)
    return {str(x.link_id): str(x.external_id) for x in h.tap.of(LinkChanged)}


def unlinked(h: Harness) -> set[str]:
    return {x.link_id for x in h.tap.of(ProviderItemChanged) if x.deleted}


async def deletions(h: Harness, connection_id: str) -> dict[str, Any]:
    answer = await h.api.get(f"/internal/v1/tenants/acme/connections/{connection_id}/deletions")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("trello_overrides", [{"deletion_burst_threshold": 2}])
async def test_a_burst_of_card_deletions_waits_for_a_person(harness: Harness) -> None:
    await connect_and_export(harness)
    connection_id = (await harness.api.get("/internal/v1/tenants/acme/connections")).json()[0]["id"]
    cards_of = await export_more(harness, connection_id, 3)  # link-1..link-4
    # Four cards deleted for good (as a person clearing a board would).
    for link_id in ("link-1", "link-2", "link-3", "link-4"):
        await harness.trello.delete(f"/_emulator/cards/{cards_of[link_id]}")

    async def held() -> int:
        return len((await deletions(harness, connection_id))["held"])

    for _ in range(500):
        if len(unlinked(harness)) + await held() == 4:
            break
        await asyncio.sleep(0.02)
    # Two deletions pass; the third trips the guard and it and every later one wait.
    assert len(unlinked(harness)) == 2
    status = await deletions(harness, connection_id)
    assert status["paused"] is True
    assert {h["direction"] for h in status["held"]} == {"provider"}
    waiting = sorted(h["link_id"] for h in status["held"])
    assert len(waiting) == 2
    assert not set(waiting) & unlinked(harness)
    # A later sighting of a held card (reconciliation, a retried webhook) holds it still.
    for link_id in waiting:
        await observations.observe(
            harness.connector.state.connector.pipeline, ItemNotice(cards_of[link_id])
        )
    assert len(unlinked(harness)) == 2

    other = await harness.api.post(
        f"/internal/v1/tenants/globex/connections/{connection_id}/deletions/confirm"
    )
    assert other.status_code == 404  # another tenant cannot confirm them
    confirmed = await harness.api.post(
        f"/internal/v1/tenants/acme/connections/{connection_id}/deletions/confirm"
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"propagated": 2, "withdrawn": 0}
    await until(lambda: unlinked(harness) == {"link-1", "link-2", "link-3", "link-4"})
    after = await deletions(harness, connection_id)
    assert (after["paused"], after["held"]) == (False, [])
    assert after["approved_until"] is not None


@pytest.mark.parametrize("trello_overrides", [{"deletion_burst_threshold": 2}])
async def test_archived_cards_pause_their_links_without_the_brake_and_restore_resumes(
    harness: Harness,
) -> None:
    await connect_and_export(harness)
    connection_id = (await harness.api.get("/internal/v1/tenants/acme/connections")).json()[0]["id"]
    cards_of = await export_more(harness, connection_id, 3)  # link-1..link-4
    # Archiving is recoverable, so a burst of it is no deletion to hold back.
    for link_id in ("link-1", "link-2", "link-3", "link-4"):
        await harness.trello.post(
            f"/_emulator/cards/{cards_of[link_id]}/edit", json={"closed": True}
        )

    def paused() -> set[str]:
        return {x.link_id for x in harness.tap.of(LinkChanged) if x.status == "paused"}

    await until(lambda: paused() == {"link-1", "link-2", "link-3", "link-4"})
    assert {x.reason for x in harness.tap.of(LinkChanged) if x.status == "paused"} == {
        "item_archived"
    }
    assert unlinked(harness) == set()
    assert (await deletions(harness, connection_id))["held"] == []

    await harness.trello.post(f"/_emulator/cards/{cards_of['link-2']}/edit", json={"closed": False})
    await until(
        lambda: any(x.link_id == "link-2" and x.status == "active" for x in resumed(harness))
    )


def resumed(h: Harness) -> list[LinkChanged]:
    """Link news after each link's first pause."""
    seen: set[str] = set()
    after: list[LinkChanged] = []
    for news in h.tap.of(LinkChanged):
        if news.link_id in seen:
            after.append(news)
        if news.status == "paused":
            seen.add(news.link_id)
    return after


@pytest.mark.parametrize("trello_overrides", [{"deletion_burst_threshold": 2}])
async def test_a_burst_of_core_deletions_archives_only_after_confirmation(
    harness: Harness,
) -> None:
    await connect_and_export(harness)
    connection_id = (await harness.api.get("/internal/v1/tenants/acme/connections")).json()[0]["id"]
    await export_more(harness, connection_id, 2)  # task-1..task-3
    for n in (1, 2, 3):
        gone = task(2, {"core": 2}, deleted=True).model_copy(update={"task_id": f"task-{n}"})
        await harness.bus.publish(
            topic_name(Topic.TASK_CHANGED),
            gone.envelope(source="/test", subject=f"task-{n}", tenant_id="acme"),
        )

    async def closed() -> int:
        all_cards = (
            await harness.trello.get(
                f"/1/boards/{harness.board_id}/cards/all",
                params={"key": "sandbox-key", "token": TOKEN},
            )
        ).json()
        return sum(1 for c in all_cards if c["closed"])

    for _ in range(500):
        if await closed() == 2 and len((await deletions(harness, connection_id))["held"]) == 1:
            break
        await asyncio.sleep(0.02)
    assert await closed() == 2
    (held,) = (await deletions(harness, connection_id))["held"]
    assert held["direction"] == "core"
    assert held["task_id"] in {"task-1", "task-2", "task-3"}

    confirmed = await harness.api.post(
        f"/internal/v1/tenants/acme/connections/{connection_id}/deletions/confirm"
    )
    assert confirmed.json() == {"propagated": 1, "withdrawn": 0}
    assert await closed() == 3
    await harness.trello.post("/_emulator/webhooks/flush")
    # Our own archives came back as webhooks: not mistaken for deletions made in Trello.
    assert [x for x in harness.tap.of(ProviderItemChanged) if x.deleted] == []
    assert (await deletions(harness, connection_id))["held"] == []
    assert len(await cards(harness)) == 0  # archived, not deleted: all three recoverable


async def board_lists(h: Harness) -> dict[str, str]:
    found = await h.trello.get(
        f"/1/boards/{h.board_id}/lists", params={"key": "sandbox-key", "token": TOKEN}
    )
    return {str(x["name"]): str(x["id"]) for x in found.json()}


async def test_a_list_mapping_makes_the_cards_list_say_done(harness: Harness) -> None:
    card_id = await connect_and_export(harness)
    connection_id = (await harness.api.get("/internal/v1/tenants/acme/connections")).json()[0]["id"]
    lists = await board_lists(harness)
    mapping_url = f"/internal/v1/tenants/acme/connections/{connection_id}/status-mapping"
    saved = await harness.api.put(
        mapping_url, json={"places": {lists["To do"]: "not_done", lists["Done"]: "done"}}
    )
    assert saved.status_code == 200, saved.text
    assert {x["meaning"] for x in saved.json()["places"]} == {"done", "not_done"}
    assert (await harness.api.get(mapping_url)).json() == saved.json()

    # A person drags the card to Done: the task is completed.
    await harness.trello.post(f"/_emulator/cards/{card_id}/edit", json={"idList": lists["Done"]})
    await until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"completed": True}

    # Reopened in core: the card goes back to a not-done list, and the echo stops there.
    replica = f"trello:{card_id}"
    reopened = task(3, {"core": 2, replica: 1}, completed=False, due_date=date(2026, 12, 1))
    await harness.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        reopened.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )

    async def card_list() -> str:
        return str((await cards(harness))[0]["idList"])

    for _ in range(250):
        if await card_list() == lists["To do"]:
            break
        await asyncio.sleep(0.02)
    assert await card_list() == lists["To do"]
    await settled(harness)
    assert len(harness.tap.of(ProviderItemChanged)) == 1

    # Completed in core: the card moves to Done (and its due date is marked complete).
    done = task(4, {"core": 3, replica: 1}, completed=True, due_date=date(2026, 12, 1))
    await harness.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        done.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    for _ in range(250):
        if await card_list() == lists["Done"]:
            break
        await asyncio.sleep(0.02)
    (card,) = await cards(harness)
    assert (card["idList"], card["dueComplete"]) == (lists["Done"], True)
    await settled(harness)
    assert len(harness.tap.of(ProviderItemChanged)) == 1


async def test_a_list_mapping_that_cannot_be_kept_is_a_422(harness: Harness) -> None:
    await connect_and_export(harness)
    connection_id = (await harness.api.get("/internal/v1/tenants/acme/connections")).json()[0]["id"]
    lists = await board_lists(harness)
    url = f"/internal/v1/tenants/acme/connections/{connection_id}/status-mapping"
    only_done = await harness.api.put(url, json={"places": {lists["Done"]: "done"}})
    assert only_done.status_code == 422
    assert "no place mapped not done" in only_done.text
    unknown = await harness.api.put(
        url, json={"places": {"5f" + "0" * 22: "done", lists["To do"]: "not_done"}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["loc"] == ["body", "places", "5f" + "0" * 22]
    bad_meaning = await harness.api.put(url, json={"places": {lists["Done"]: "finished"}})
    assert bad_meaning.status_code == 422
    stranger = await harness.api.get(
        f"/internal/v1/tenants/globex/connections/{connection_id}/status-mapping"
    )
    assert stranger.status_code == 404
    assert (await harness.api.get(url)).json()["places"] == []  # nothing was stored


async def test_our_write_seen_before_its_base_is_saved_is_not_taken_for_an_edit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trello's webhook for our own write (or a reconciliation poll) can read the card after
    # Trello applied the write but before the connector saved the new base. Seen then, our
    # write would look like a person's edit, and core could let that stale value win.
    card_id = await connect_and_export(harness)
    state = harness.connector.state.connector.pipeline
    real_save = state.repo.save_state
    observers: list[asyncio.Task[None]] = []

    async def save_after_a_look(*args: Any, **kwargs: Any) -> None:
        if not observers:
            observers.append(asyncio.create_task(observations.observe(state, ItemNotice(card_id))))
            # The observation has read the link and waits for its turn (with the turn gone
            # it would run through now, and this wait would fail the test).
            await until(lambda: state.turns.holders("link-1") >= 2)
        await real_save(*args, **kwargs)

    monkeypatch.setattr(state.repo, "save_state", save_after_a_look)
    changed = task(2, {"core": 2}, title="Plan the week (v2)", due_date=date(2026, 12, 1))
    await harness.bus.publish(
        topic_name(Topic.TASK_CHANGED),
        changed.envelope(source="/test", subject="task-1", tenant_id="acme"),
    )
    await until(lambda: bool(observers) and observers[0].done())
    await settled(harness)
    assert (await cards(harness))[0]["name"] == "Plan the week (v2)"
    assert harness.tap.of(ProviderItemChanged) == []
