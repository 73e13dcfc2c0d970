"""Trello end to end: the services as separate processes on real Kafka and PostgreSQL, the
Trello emulator as one more process, driven through the gateway, the emulator's "person in
Trello" controls, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.trello_world import (
    KEY,
    OBSERVER_TOKEN,
    TrelloWorld,
    card_of,
)
from tests.e2e.world import eventually
from tether_connector_runtime.signatures import trello_signature

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def world(trello_world: TrelloWorld) -> TrelloWorld:
    """The shared end-to-end world (tests/e2e/conftest.py, trello_world.py)."""
    return trello_world


async def test_export_creates_one_card_and_edits_flow_both_ways(world: TrelloWorld) -> None:
    task_id, card_id = await world.export_new_task(due_date="2026-12-01")
    cards = await card_of(world.trello, world.board_id)
    assert [c["id"] for c in cards] == [card_id]
    assert cards[0]["name"] == "Plan the week"

    # A core edit reaches the card.
    await world.api.patch(f"/v1/tasks/{task_id}", json={"title": "Plan the week (v2)"})
    await eventually(
        lambda: _has(world.card(card_id), "name", "Plan the week (v2)"),
        what="the core edit on the card",
    )

    # A card edit reaches the core.
    await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
    await eventually(
        lambda: _has(world.task(task_id), "description", "Agenda"), what="the card edit in the core"
    )

    # And it never comes back: after the dust settles, our one write is the only write.
    await asyncio.sleep(3)
    assert await world.writes_to(card_id) == 1
    assert (await world.card(card_id))["desc"].startswith("Agenda")


async def test_concurrent_edits_to_different_fields_both_survive(world: TrelloWorld) -> None:
    task_id, card_id = await world.export_new_task()
    await asyncio.gather(
        world.api.patch(f"/v1/tasks/{task_id}", json={"due_date": "2027-01-15"}),
        world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed in Trello"}),
    )

    async def converged() -> bool:
        task, card = await world.task(task_id), await world.card(card_id)
        return (
            task["title"] == "Renamed in Trello"
            and task["due_date"] == "2027-01-15"
            and card["name"] == "Renamed in Trello"
            and str(card["due"]).startswith("2027-01-15")
        )

    await eventually(converged, what="both edits on both sides")


async def test_a_bad_signature_is_rejected(world: TrelloWorld) -> None:
    url = world.deployment.url("trello-connector") + "/webhooks/trello"
    body = b'{"action": {"id": "a1", "data": {}}, "model": {"id": "m1"}}'
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            url,
            content=body,
            headers={"X-Trello-Webhook": trello_signature("not-the-secret", body, url)},
        )
        unsigned = await http.post(url, content=body)
    assert forged.status_code == 401
    assert unsigned.status_code == 401


async def test_rate_limits_are_honoured_and_nothing_is_lost(world: TrelloWorld) -> None:
    task_id, card_id = await world.export_new_task()
    await world.trello.post("/_emulator/rate-limits", json={"tokenLimit": 12, "windowSeconds": 10})
    # Another app of the user's spends the token's whole window, so Tether's next calls meet
    # 429s whatever its own count says; from then on Trello's x-rate-limit headers tell it when
    # the token is spent, and edits (two calls each, plus reconciliation's polls every 2 s)
    # wait for the next window instead.
    # It calls until Trello refuses: the window is then surely spent, however many calls the
    # connector itself made in it (reconciliation's polls share the token).
    for _ in range(40):
        other_app = await world.trello.get(
            f"/1/boards/{world.board_id}/lists", params={"key": KEY, "token": "sandbox-token"}
        )
        assert other_app.status_code in (200, 429), other_app.text
        if other_app.status_code == 429:
            break
    assert other_app.status_code == 429, "the token's window was never spent: test proves nothing"
    for n in range(4):
        await world.api.patch(f"/v1/tasks/{task_id}", json={"title": f"edit {n}"})
    await eventually(
        lambda: _has(world.card(card_id), "name", "edit 3"),
        within=120,
        what="the last edit despite 429s",
    )
    # Nothing lost, nothing reverted: the core still holds the last edit too.
    assert (await world.task(task_id))["title"] == "edit 3"


async def test_a_killed_connector_resumes_without_losing_a_write(world: TrelloWorld) -> None:
    task_id, card_id = await world.export_new_task()
    world.deployment.kill("trello-connector")
    await world.api.patch(f"/v1/tasks/{task_id}", json={"title": "while it was down"})
    world.deployment.start_one("trello-connector")
    await eventually(
        lambda: _has(world.card(card_id), "name", "while it was down"),
        within=60,
        what="the edit made while the connector was down",
    )
    await asyncio.sleep(2)
    assert await world.writes_to(card_id) == 1


async def test_a_dropped_webhook_is_repaired_by_reconciliation(world: TrelloWorld) -> None:
    task_id, card_id = await world.export_new_task()
    await world.trello.post("/_emulator/webhooks/drop-next", params={"count": 5})
    await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Missed webhook"})
    await eventually(
        lambda: _has(world.task(task_id), "title", "Missed webhook"),
        within=30,
        what="reconciliation to bring the lost edit",
    )


async def test_deletions_unlink_and_flag_or_archive_never_destroy(world: TrelloWorld) -> None:
    archived_task, archived_card = await world.export_new_task(title="Archived in Trello")
    deleted_task, deleted_card = await world.export_new_task(title="Deleted in Tether")

    # A person archives one card in Trello: the task stays, its link paused and the task
    # flagged; then deletes it for good: unlinked, flagged as deleted.
    await world.trello.post(f"/_emulator/cards/{archived_card}/edit", json={"closed": True})

    def flagged(reason: str) -> Callable[[], Awaitable[Any]]:
        async def probe() -> Any:
            page = (await world.api.get("/v1/tasks", params={"needs_review": "true"})).json()
            found = [t for t in page["items"] if t["id"] == archived_task]
            return found if found and found[0]["review"]["reason"] == reason else None

        return probe

    [task] = await eventually(flagged("provider_archived"), what="flagged as archived")
    assert task["deleted"] is False
    links = (await world.api.get(f"/v1/tasks/{archived_task}/links")).json()
    assert [link["status"] for link in links] == ["paused"]
    assert (await world.trello.delete(f"/_emulator/cards/{archived_card}")).status_code == 200
    [task] = await eventually(flagged("provider_deleted"), what="flagged as deleted")
    assert task["deleted"] is False
    links = (await world.api.get(f"/v1/tasks/{archived_task}/links")).json()
    assert [link["status"] for link in links] == ["unlinked"]

    # The other task is deleted through the API: its card is archived (recoverable), not
    # deleted, and that archive is not mistaken for a deletion made in Trello.
    assert (await world.api.delete(f"/v1/tasks/{deleted_task}")).status_code == 204

    async def card_closed() -> bool:
        answer = await world.trello.get(
            f"/1/cards/{deleted_card}", params={"key": KEY, "token": OBSERVER_TOKEN}
        )
        return answer.status_code == 200 and answer.json()["closed"] is True

    await eventually(card_closed, what="the deleted task's card archived")

    async def archived() -> bool:
        links = (await world.api.get(f"/v1/tasks/{deleted_task}/links")).json()
        return [link["status"] for link in links] == ["archived"]

    await eventually(archived, what="the link reported archived")
    await asyncio.sleep(2)
    links = (await world.api.get(f"/v1/tasks/{deleted_task}/links")).json()
    assert [link["status"] for link in links] == ["archived"]  # no unlink came back
    assert (await world.api.delete(f"/v1/tasks/{archived_task}/review")).json()["review"] is None


async def _has(item: Any, key: str, value: Any) -> bool:
    return bool((await item).get(key) == value)
