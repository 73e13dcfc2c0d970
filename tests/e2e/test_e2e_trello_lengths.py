"""Lengths in both directions, end to end on real Kafka and PostgreSQL with every service as a
process and the Trello emulator.

A 16,350-character description a person sets on a Trello card reaches core whole. A second
copy (another Trello account's card) cannot hold it beside our marker: it gets it shortened
with an ellipsis within Trello's 16384, the shortened copy's echo never replaces core's whole
value, every other field still syncs to both cards, and a person's own edit of the shortened
description still reaches core and the first card.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually
from trello_connector.mapping import strip_marker

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 90.0  # generous: under load the services may be slow
TRELLO_TEXT_MAX = 16384  # PROVIDERS.md, Trello: name and desc
LONG = "".join(f"Note {n:04d}: what the offsite agreed on.\n" for n in range(420))[:16349] + "."
SECOND_TOKEN = "second-" + "0" * 57


async def test_a_long_description_reaches_core_whole_and_a_second_copy_shortened(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    assert len(LONG) == 16350
    task_id, first = await w.export_new_task(title="Offsite notes")

    # A person replaces the card's whole description (our marker too: it does not fit beside).
    await _person_edits(w, first, desc=LONG)
    await eventually(_task_has(w, task_id, description=LONG), within=WITHIN, what="core whole")

    second = await _export_to_a_second_account(w, task_id)
    copy = (await eventually(_card_exists(w, second), within=WITHIN, what="second card"))["desc"]
    assert len(copy) <= TRELLO_TEXT_MAX
    shown = strip_marker(copy)
    assert shown.endswith("\N{HORIZONTAL ELLIPSIS}")
    assert LONG.startswith(shown[:-1])
    assert len(shown) < len(copy)  # the marker is there too: the link's card stays findable

    # Every other field still syncs, to both cards.
    renamed = await w.api.patch(f"/v1/tasks/{task_id}", json={"title": "Offsite notes, read"})
    assert renamed.status_code == 200, renamed.text
    for card_id in (first, second):
        await eventually(_card_named(w, card_id, "Offsite notes, read"), within=WITHIN)

    # A person's edit of the second card is observed from the card's whole state: had its
    # shortened description been taken for an edit, it would travel with this one.
    await _person_edits(w, second, name="Offsite notes, agreed")
    await eventually(
        _task_has(w, task_id, title="Offsite notes, agreed"), within=WITHIN, what="card's title"
    )
    assert (await w.task(task_id))["description"] == LONG
    assert (await w.card(first))["desc"] == LONG  # never cut by a write of its own

    # A person's own edit of the shortened text is theirs: it reaches core and the first card.
    await _person_edits(w, second, desc="Shortened by hand")
    await eventually(
        _task_has(w, task_id, description="Shortened by hand"), within=WITHIN, what="the edit"
    )

    async def first_card_follows() -> bool:
        return strip_marker(str((await w.card(first)).get("desc"))) == "Shortened by hand"

    await eventually(first_card_follows, within=WITHIN, what="the first card")


async def _export_to_a_second_account(w: TrelloWorld, task_id: str) -> str:
    """Another Trello account of the same tenant, on the same board; the task exported through
    it (one link per connection); the new card's id."""
    member = await w.trello.post(
        "/_emulator/members", json={"username": "second", "token": SECOND_TOKEN}
    )
    assert member.status_code == 200, member.text
    connected = await w.api.post(
        "/v1/connections", json={"provider": "trello", "token": SECOND_TOKEN}
    )
    assert connected.status_code == 201, connected.text
    exported = await w.api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": connected.json()["id"], "target": {"list_id": w.list_id}},
    )
    assert exported.status_code == 202, exported.text
    link_id = exported.json()["id"]

    async def active() -> Any:
        link = next((x for x in await w.links(task_id) if x["id"] == link_id), {})
        assert link.get("status") != "failed", link
        return link if link.get("status") == "active" else None

    return str((await eventually(active, within=WITHIN, what="second link"))["external_id"])


async def _person_edits(w: TrelloWorld, card_id: str, **params: Any) -> None:
    answer = await w.trello.post(f"/_emulator/cards/{card_id}/edit", json=params)
    assert answer.status_code == 200, answer.text


def _task_has(w: TrelloWorld, task_id: str, **values: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        task = await w.task(task_id)
        return task if all(task[k] == v for k, v in values.items()) else None

    return probe


def _card_exists(w: TrelloWorld, card_id: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        return await w.card(card_id) or None

    return probe


def _card_named(w: TrelloWorld, card_id: str, name: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        card = await w.card(card_id)
        return card if card.get("name") == name else None

    return probe
