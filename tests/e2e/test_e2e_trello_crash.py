"""Exactly one card per export, even when the connector dies (kill -9) between Trello's create
call and recording its result.

The emulator performs the create but withholds its answer (/_emulator/holds), so the card
exists while the connector still waits to hear of it; then the connector's process is killed.
Its export request was never acknowledged on Kafka, so the restarted connector gets it again,
and only the marker the card was created with lets it find that card instead of making another.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.connector_kill import hold, kill_connector, restart_connector, until_held
from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TITLE = "Survive the crash"


async def test_an_export_killed_after_trellos_create_still_makes_exactly_one_card(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_id = await world.new_task(title=TITLE)

    # Trello will create the next card, but its answer will not come back.
    await hold(world, "POST", "/1/cards", count=1)
    link_id = await world.export_to(task_id, world.target())

    await until_held(world, within=60, what="Trello withholding the create's answer")
    [card] = await world.board_cards()
    assert card["name"] == TITLE
    assert link_id in card["desc"]  # the marker travelled with the create

    # The answer dies with the process's connection, never read; nothing recorded the card.
    await kill_connector(world)
    assert [link["status"] for link in await world.links(task_id)] == ["pending"]

    await restart_connector(world)
    # Generous: the restarted connector waits for Kafka to give up on the killed consumer.
    link = await eventually(
        world.link_in(task_id, "active"), within=120, what="the link to become active"
    )
    assert (link["id"], link["external_id"], link["url"]) == (
        link_id,
        card["id"],
        card["shortUrl"],
    )
    assert [c["id"] for c in await world.board_cards()] == [card["id"]]

    # The adopted card is the live one: a core edit reaches it, and still no second card.
    await world.edit_core(task_id, title="After the crash")

    async def renamed() -> Any:
        cards = await world.board_cards()
        return cards if any(c["name"] == "After the crash" for c in cards) else None

    cards = await eventually(renamed, within=60, what="the core edit on the card")
    assert [(c["id"], c["closed"]) for c in cards] == [(card["id"], False)]
