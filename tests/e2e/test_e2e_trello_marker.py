"""Our marker in a card's description never leaks, whatever a person does (end to end: the
services as processes on real Kafka and PostgreSQL, the Trello emulator as a process).

A person types below the marker, twice, with a core edit of the description in between; then
deletes the marker. The task's description never shows the marker (not in any version of its
history), every description we write leaves exactly one marker in the card, and the link keeps
syncing both ways without it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 60.0
MARKER_HOST = "tether.invalid"


async def person_sets_desc(world: TrelloWorld, card_id: str, desc: str) -> None:
    edited = await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": desc})
    assert edited.status_code == 200, edited.text


async def card_desc(world: TrelloWorld, card_id: str) -> str:
    card = next(c for c in await world.board_cards() if c["id"] == card_id)
    return str(card.get("desc") or "")


def task_has(world: TrelloWorld, task_id: str, **values: Any) -> Any:
    async def probe() -> bool:
        task = await world.task(task_id)
        return all(task.get(k) == v for k, v in values.items())

    return probe


async def descriptions_in_history(world: TrelloWorld, task_id: str) -> list[str]:
    answer = await world.api.get(f"/v1/tasks/{task_id}/history", params={"limit": 100})
    assert answer.status_code == 200, answer.text
    return [str(entry["fields"]["description"]) for entry in answer.json()["items"]]


async def test_text_typed_below_the_marker_never_brings_it_to_the_task(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_id, card_id = await world.export_new_task(description="Agenda")
    written = await card_desc(world, card_id)
    assert written.startswith("Agenda\n\n[tether]: ")
    assert written.count(MARKER_HOST) == 1

    # Round 1: a person types on the line below the marker.
    await person_sets_desc(world, card_id, f"{written}\nNotes from the call")
    await eventually(
        task_has(world, task_id, description="Agenda\n\nNotes from the call"),
        within=WITHIN,
        what="the text typed below the marker, without the marker, in the task",
    )
    # Core edits the description: the card gets it with exactly one marker.
    patched = await world.api.patch(
        f"/v1/tasks/{task_id}", json={"description": "Agenda v2\n\nNotes from the call"}
    )
    assert patched.status_code == 200, patched.text

    async def written_with_one_marker() -> bool:
        desc = await card_desc(world, card_id)
        return desc.startswith("Agenda v2\n\nNotes from the call\n\n[tether]: ")

    await eventually(written_with_one_marker, within=WITHIN, what="core's description on the card")
    assert (await card_desc(world, card_id)).count(MARKER_HOST) == 1

    # Round 2: below the marker again, CRLF this time, after a blank line.
    again = (await card_desc(world, card_id)).replace("\n", "\r\n") + "\r\n\r\nAction items"
    await person_sets_desc(world, card_id, again)
    await eventually(
        task_has(
            world,
            task_id,
            description="Agenda v2\r\n\r\nNotes from the call\r\n\r\nAction items",
        ),
        within=WITHIN,
        what="round 2 in the task",
    )
    assert (await card_desc(world, card_id)).count(MARKER_HOST) == 1

    history = await descriptions_in_history(world, task_id)
    assert len(history) >= 4
    assert [d for d in history if MARKER_HOST in d] == []


async def test_a_deleted_marker_stops_nothing_and_comes_back_with_our_next_description(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_id, card_id = await world.export_new_task(description="Agenda")
    await person_sets_desc(world, card_id, "Agenda, marker deleted")
    await eventually(
        task_has(world, task_id, description="Agenda, marker deleted"),
        within=WITHIN,
        what="the description without the marker in the task",
    )

    # Both ways still: a core edit reaches the card, a card edit reaches the task.
    await world.api.patch(f"/v1/tasks/{task_id}", json={"title": "Renamed in Tether"})

    async def renamed_on_card() -> bool:
        card = next(c for c in await world.board_cards() if c["id"] == card_id)
        return bool(card["name"] == "Renamed in Tether")

    await eventually(renamed_on_card, within=WITHIN, what="the core edit on the card")
    assert MARKER_HOST not in await card_desc(world, card_id)  # a title write leaves desc be
    await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed in Trello"})
    await eventually(
        task_has(world, task_id, title="Renamed in Trello"),
        within=WITHIN,
        what="the card edit in the task",
    )

    # Our next description write carries the marker again: exactly one.
    await world.api.patch(f"/v1/tasks/{task_id}", json={"description": "Agenda v3"})

    async def marked_again() -> bool:
        return (await card_desc(world, card_id)).startswith("Agenda v3\n\n[tether]: ")

    await eventually(marked_again, within=WITHIN, what="the marker back with our description")
    assert (await card_desc(world, card_id)).count(MARKER_HOST) == 1
    assert (await world.task(task_id))["description"] == "Agenda v3"
