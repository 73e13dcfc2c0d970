"""The seed's open question, answered: a task exported to both Trello and Asana, edited in one
provider, reaches the core and the other provider, and nothing loops back. Exact write counts
per provider prove it: the edited side gets no write at all, the other side exactly one per
edit.

Every service is a process on real Kafka and PostgreSQL; each emulator is a process of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 60.0


async def export_to_both(trello: TrelloWorld, asana: AsanaWorld) -> tuple[str, str, str]:
    """One task with a link to a card and a link to an Asana task: (task, card, Asana gid)."""
    task_id, card_id = await trello.export_new_task(title="Plan the week")
    await asana.export(task_id)
    link = await eventually(asana.link_in(task_id, "active"), within=WITHIN)
    gid = str(link["external_id"])
    [made] = await asana.project_tasks()
    assert (made["gid"], made["name"]) == (gid, "Plan the week")
    return task_id, card_id, gid


def all_three(
    trello: TrelloWorld, asana: AsanaWorld, ids: tuple[str, str, str], title: str
) -> Callable[[], Awaitable[Any]]:
    task_id, card_id, gid = ids

    async def probe() -> bool:
        task, card, there = (
            await trello.task(task_id),
            await trello.card(card_id),
            await asana.asana_task(gid),
        )
        return bool(task["title"] == card.get("name") == there.get("name") == title)

    return probe


async def barrier(trello: TrelloWorld, asana: AsanaWorld, ids: tuple[str, str, str]) -> None:
    """A core edit after the others, awaited on both providers: each link's changes are handled
    in order (one partition per task), so once this one has arrived everywhere, any echo of the
    edits before it would have been written already."""
    task_id = ids[0]
    edited = await trello.api.patch(f"/v1/tasks/{task_id}", json={"title": "Barrier"})
    assert edited.status_code == 200, edited.text
    await eventually(all_three(trello, asana, ids, "Barrier"), within=WITHIN, what="the barrier")


async def test_an_asana_edit_reaches_trello_and_the_core_and_nothing_loops_back(
    trello_and_asana: tuple[TrelloWorld, AsanaWorld],
) -> None:
    trello, asana = trello_and_asana
    ids = task_id, card_id, gid = await export_to_both(trello, asana)
    await asana.flush_webhooks()
    trello_before, asana_before = await trello.writes_to(card_id), await asana.writes_to(gid)
    version_before = (await trello.task(task_id))["version"]

    await asana.person_edits(gid, name="Renamed in Asana")
    await eventually(
        all_three(trello, asana, ids, "Renamed in Asana"), within=WITHIN, what="all three"
    )
    # The core merged the edit once: one new version, the provider's change.
    assert (await trello.task(task_id))["version"] == version_before + 1
    await barrier(trello, asana, ids)

    # Trello: the Asana edit and the barrier. Asana: the barrier only (its own edit never
    # came back to it).
    assert await trello.writes_to(card_id) == trello_before + 2
    assert await asana.writes_to(gid) == asana_before + 1
    assert (await trello.task(task_id))["version"] == version_before + 2
    assert [c["id"] for c in await trello.board_cards()] == [card_id]
    assert [t["gid"] for t in await asana.project_tasks()] == [gid]


async def test_a_trello_edit_reaches_asana_and_the_core_and_nothing_loops_back(
    trello_and_asana: tuple[TrelloWorld, AsanaWorld],
) -> None:
    trello, asana = trello_and_asana
    ids = task_id, card_id, gid = await export_to_both(trello, asana)
    await asana.flush_webhooks()
    trello_before, asana_before = await trello.writes_to(card_id), await asana.writes_to(gid)

    edited = await trello.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed in Trello"}
    )
    assert edited.status_code == 200, edited.text
    await eventually(
        all_three(trello, asana, ids, "Renamed in Trello"), within=WITHIN, what="all three"
    )
    await barrier(trello, asana, ids)

    assert await trello.writes_to(card_id) == trello_before + 1  # the barrier only
    assert await asana.writes_to(gid) == asana_before + 2  # the Trello edit and the barrier
    assert (await trello.task(task_id))["title"] == "Barrier"


async def test_edits_on_both_providers_at_once_to_different_fields_all_converge(
    trello_and_asana: tuple[TrelloWorld, AsanaWorld],
) -> None:
    trello, asana = trello_and_asana
    task_id, card_id, gid = await export_to_both(trello, asana)

    await asana.person_edits(gid, notes="Agenda from Asana")
    edited = await trello.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed in Trello"}
    )
    assert edited.status_code == 200, edited.text

    async def converged() -> bool:
        task, card, there = (
            await trello.task(task_id),
            await trello.card(card_id),
            await asana.asana_task(gid),
        )
        return (
            task["title"] == card.get("name") == there.get("name") == "Renamed in Trello"
            and task["description"] == "Agenda from Asana"
            and str(card.get("desc", "")).startswith("Agenda from Asana")
            and there.get("notes", "").startswith("Agenda from Asana")
        )

    await eventually(converged, within=WITHIN, what="both edits everywhere")
