"""Links that wait for a person, end to end on real Kafka and PostgreSQL with every service as
a process and the Trello emulator.

- A card archived in Trello pauses its link and flags the task; restoring the card resumes
  the link (the card gets the edit made meanwhile) and clears the flag; exporting the task
  again to its archived card restores that card, never a second one.
- A revoked token breaks the connection (visible in the connections API) and pauses its
  links; connecting the same account again repairs the same connection, and the edits made
  on both sides while it was broken arrive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# Generous: under load the services may be slow, and a condition that holds is met at once.
WITHIN = 90.0


@pytest.fixture
def trello_env_overrides() -> dict[str, str]:
    return {
        "TETHER_TRELLO_RETRY_BASE_DELAY": "0.2",
        "TETHER_TRELLO_RETRY_MAX_DELAY": "1",
        "TETHER_TRELLO_RETRY_POLL_INTERVAL": "0.2",
        # Reconciliation brings what webhooks could not (the token's webhooks are gone).
        "TETHER_TRELLO_RECONCILE_INTERVAL": "1",
    }


async def test_an_archived_card_pauses_its_link_until_restored_or_exported_again(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    task_id, card_id = await w.export_new_task(title="Plan the week")

    await _person_edits(w, card_id, closed=True)
    paused = await eventually(_link_in(w, task_id, "paused"), within=WITHIN, what="paused")
    assert "archived" in str(paused["error"])
    task = await w.task(task_id)
    assert task["review"]["reason"] == "provider_archived"

    edited = await w.api.patch(f"/v1/tasks/{task_id}", json={"title": "Edited while archived"})
    assert edited.status_code == 200, edited.text
    await _person_edits(w, card_id, closed=False)
    await eventually(_link_in(w, task_id, "active"), within=WITHIN, what="resumed")
    await eventually(
        _card_named(w, card_id, "Edited while archived"), within=WITHIN, what="the edit"
    )
    assert (await w.task(task_id))["review"] is None

    # Archived again, then exported again: the same link restores the same card.
    await _person_edits(w, card_id, closed=True)
    await eventually(_link_in(w, task_id, "paused"), within=WITHIN, what="paused again")
    again = await w.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": w.connection_id, "target": {"list_id": w.list_id}},
    )
    assert again.status_code == 202, again.text
    assert again.json()["id"] == paused["id"]
    link = await eventually(_link_in(w, task_id, "active"), within=WITHIN, what="restored")
    assert link["external_id"] == card_id
    cards = [c for c in await w.board_cards() if c["name"] == "Edited while archived"]
    assert [(c["id"], c["closed"]) for c in cards] == [(card_id, False)]


async def test_a_revoked_token_breaks_the_connection_until_the_account_is_connected_again(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    task_id, card_id = await w.export_new_task(title="Plan the week")
    member = await _member_of(w, "sandbox-token")
    revoked = await w.trello.delete("/_emulator/tokens/sandbox-token")
    assert revoked.status_code == 200, revoked.text

    edited = await w.api.patch(f"/v1/tasks/{task_id}", json={"title": "Edited while broken"})
    assert edited.status_code == 200, edited.text
    broken = await eventually(_connection_broken(w), within=WITHIN, what="broken")
    assert broken["broken_since"] is not None
    link = await eventually(_link_in(w, task_id, "paused"), within=WITHIN, what="paused")
    assert "reconnect" in str(link["error"])
    # A person edits the card meanwhile (its webhook went with the token).
    await _person_edits(w, card_id, desc="Agenda written in Trello")

    granted = await w.trello.post(
        "/_emulator/tokens", json={"member": member, "token": "sandbox-token-2"}
    )
    assert granted.status_code == 200, granted.text
    again = await w.api.post(
        "/v1/connections", json={"provider": "trello", "token": granted.json()["token"]}
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] == w.connection_id
    assert again.json()["status"] == "active"

    await eventually(_link_in(w, task_id, "active"), within=WITHIN, what="resumed")
    await eventually(_card_named(w, card_id, "Edited while broken"), within=WITHIN, what="core's")

    async def card_edit_in_core() -> Any:
        task = await w.task(task_id)
        return task if task["description"] == "Agenda written in Trello" else None

    await eventually(card_edit_in_core, within=WITHIN, what="the card's edit in core")
    connections = (await w.api.get("/v1/connections")).json()
    assert [c["id"] for c in connections if c["provider"] == "trello"] == [w.connection_id]


async def _person_edits(w: TrelloWorld, card_id: str, **params: Any) -> None:
    answer = await w.trello.post(f"/_emulator/cards/{card_id}/edit", json=params)
    assert answer.status_code == 200, answer.text


async def _member_of(w: TrelloWorld, token: str) -> str:
    overview = (await w.trello.get("/_emulator")).json()
    return str(next(m["id"] for m in overview["members"] if token in m["tokens"]))


def _link_in(w: TrelloWorld, task_id: str, status: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        links = await w.links(task_id)
        return links[0] if links and links[0]["status"] == status else None

    return probe


def _card_named(w: TrelloWorld, card_id: str, name: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        card = await w.card(card_id)
        return card if card.get("name") == name else None

    return probe


def _connection_broken(w: TrelloWorld) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        answer = await w.api.get("/v1/connections")
        assert answer.status_code == 200, answer.text
        mine: dict[str, Any] = next((c for c in answer.json() if c["id"] == w.connection_id), {})
        return mine if mine.get("status") == "broken" else None

    return probe
