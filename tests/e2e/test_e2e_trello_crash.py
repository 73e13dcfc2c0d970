"""Exactly one card per export, even when the connector dies (kill -9) between Trello's create
call and recording its result.

The emulator performs the create but withholds its answer (/_emulator/holds), so the card
exists while the connector still waits to hear of it; then the connector's process is killed.
Its export request was never acknowledged on Kafka, so the restarted connector gets it again,
and only the marker the card was created with lets it find that card instead of making another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld, eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TITLE = "Survive the crash"


async def test_an_export_killed_after_trellos_create_still_makes_exactly_one_card(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    created = await world.api.post("/v1/tasks", json={"title": TITLE})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]

    # Trello will create the next card, but its answer will not come back.
    held = await world.trello.post(
        "/_emulator/holds", json={"method": "POST", "path": "/1/cards", "count": 1}
    )
    assert held.status_code == 200, held.text
    exported = await world.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": world.connection_id, "target": {"list_id": world.list_id}},
    )
    assert exported.status_code == 202, exported.text
    link_id = exported.json()["id"]

    async def create_held() -> bool:
        return bool((await world.holds())["waiting"] == 1)

    await eventually(create_held, within=60, what="Trello withholding the create's answer")
    [card] = await world.board_cards()
    assert card["name"] == TITLE
    assert link_id in card["desc"]  # the marker travelled with the create

    world.deployment.kill("trello-connector")  # SIGKILL: no cleanup, no last words

    async def hung_up() -> bool:
        return bool((await world.holds())["abandoned"] == 1)

    # The answer dies with the process's connection, never read; nothing recorded the card.
    await eventually(hung_up, what="the killed connector's connection to close")
    cleared = (await world.trello.delete("/_emulator/holds")).json()
    assert cleared == {"disarmed": 0, "released": 0}
    assert [link["status"] for link in await world.links(task_id)] == ["pending"]

    await asyncio.to_thread(world.deployment.start_one, "trello-connector")

    async def active() -> Any:
        links = await world.links(task_id)
        return links[0] if links and links[0]["status"] == "active" else None

    # Generous: the restarted connector waits for Kafka to give up on the killed consumer.
    link = await eventually(active, within=120, what="the link to become active")
    assert (link["id"], link["external_id"], link["url"]) == (
        link_id,
        card["id"],
        card["shortUrl"],
    )
    assert [c["id"] for c in await world.board_cards()] == [card["id"]]

    # The adopted card is the live one: a core edit reaches it, and still no second card.
    edited = await world.api.patch(f"/v1/tasks/{task_id}", json={"title": "After the crash"})
    assert edited.status_code == 200, edited.text

    async def renamed() -> Any:
        cards = await world.board_cards()
        return cards if any(c["name"] == "After the crash" for c in cards) else None

    cards = await eventually(renamed, within=60, what="the core edit on the card")
    assert [(c["id"], c["closed"]) for c in cards] == [(card["id"], False)]
