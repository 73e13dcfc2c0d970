"""A card write cut off by ``kill -9`` after Trello applied it must not undo a later edit.

The connector writes a task's state to its card, then records the new base (``synced_fields``
and ``synced_clock``). Killed between the two, it restarts with the old base while the card
already holds what it wrote. Here the connector writes title "B" while core has already
accepted a newer edit, "C"; Trello applies "B", its answer is withheld (/_emulator/holds), and
the connector dies. Restarted, it reads the card, sees "B" differ from the base "A", and
publishes it as a person's Trello edit; core finds a conflict (core "C", Trello "B") and the
later edit wins: Trello's, since our own write landed after "C". The acknowledged "C" would be
lost and a conflict nobody made recorded.

The runtime commits the write it is about to make on the link first (its intent), and takes
an item that holds it for that write's echo: the restarted connector settles the base at "B"
and writes "C".

Each step waits on what the emulator reports (a held answer, a hung-up client), never on time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
]


async def test_a_write_killed_after_trello_applied_it_loses_no_acknowledged_edit(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_id, card_id = await world.export_new_task(title="A")
    card_path = f"/1/cards/{card_id}"

    async def hold(method: str) -> None:
        armed = await world.trello.post(
            "/_emulator/holds", json={"method": method, "path": card_path, "count": 1}
        )
        assert armed.status_code == 200, armed.text

    async def rename(title: str) -> None:
        answer = await world.api.patch(f"/v1/tasks/{task_id}", json={"title": title})
        assert answer.status_code == 200, answer.text

    def held(method: str) -> Any:
        async def probe() -> bool:
            holds = await world.holds()
            return bool(holds["waiting"] == 1 and holds["held"][0]["method"] == method)

        return probe

    # The write of "B" (a card is written unread): Trello applies it and withholds its
    # answer; meanwhile core accepts "C", and the connector dies before hearing of "B".
    await hold("PUT")
    await rename("B")
    await eventually(held("PUT"), what="Trello to apply B and withhold its answer")
    assert (await world.card(card_id))["name"] == "B"
    await rename("C")

    world.deployment.kill("trello-connector")

    async def hung_up() -> bool:
        return bool((await world.holds())["abandoned"] == 1)

    await eventually(hung_up, what="the killed connector's connection to close")
    await world.trello.delete("/_emulator/holds")
    await asyncio.to_thread(world.deployment.wait_dead, "trello-connector")
    await asyncio.to_thread(world.deployment.start_one, "trello-connector")

    async def agreed() -> Any:
        title = (await world.task(task_id))["title"]
        return title if title == (await world.card(card_id)).get("name") else None

    # Generous: the restarted connector waits for Kafka to give up on the killed consumer.
    assert await eventually(agreed, within=90, what="core and the card to agree") == "C"
    conflicts = (await world.api.get("/v1/conflicts", params={"task_id": task_id})).json()
    assert conflicts["items"] == []
