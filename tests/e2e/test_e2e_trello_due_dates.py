"""Due dates that mean the same day everywhere, end to end on real Kafka and PostgreSQL with
every service as a process and the Trello emulator: a person in Auckland (UTC+13 in December)
sets a date-only due, the card is due at 12:00 that day in Auckland (not on Dec 2), our own
write comes back as no change, and an instant a person sets on the card ("Dec 1, 5:00 PM" in
Los Angeles) arrives in core as that instant (due_at), not as a date."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 90.0
NOON_DEC_1_IN_AUCKLAND = "2026-11-30T23:00:00.000Z"
DEC_1_5PM_IN_LOS_ANGELES = "2026-12-02T01:00:00.000Z"


async def test_a_date_is_noon_in_the_owners_zone_and_a_persons_instant_stays_an_instant(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    zone = await w.api.patch("/v1/me", json={"time_zone": "Pacific/Auckland"})
    assert zone.status_code == 200, zone.text
    [connection] = (await w.api.get("/v1/connections")).json()
    assert connection["time_zone"] == "Pacific/Auckland"

    task_id, card_id = await w.export_new_task(due_date="2026-12-01")
    card = await w.card(card_id)
    assert card["due"] == NOON_DEC_1_IN_AUCKLAND

    edited = await w.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"due": DEC_1_5PM_IN_LOS_ANGELES}
    )
    assert edited.status_code == 200, edited.text

    async def instant_arrived() -> Any:
        task = await w.task(task_id)
        return task if task["due_at"] == "2026-12-02T01:00:00Z" else None

    task = await eventually(instant_arrived, within=WITHIN, what="the card's instant in core")
    assert task["due_date"] is None
    history = (await w.api.get(f"/v1/tasks/{task_id}/history")).json()["items"]
    from_trello = [(h["origin"], h["changed_fields"]) for h in history if h["origin"] != "core"]
    # Our own write of Dec 1 came back as no change: the one change from Trello is the person's.
    assert from_trello == [(f"trello:{card_id}", ["due_date", "due_at"])]
    # Core's merged state matches the card already: nothing is written back to it.
    assert (await w.card(card_id))["due"] == DEC_1_5PM_IN_LOS_ANGELES


async def test_dates_on_cards_stay_dates_after_the_owner_changes_time_zone(
    trello_world: TrelloWorld,
) -> None:
    w = trello_world
    zone = await w.api.patch("/v1/me", json={"time_zone": "Pacific/Auckland"})
    assert zone.status_code == 200, zone.text
    task_id, card_id = await w.export_new_task(due_date="2026-12-01")
    assert (await w.card(card_id))["due"] == NOON_DEC_1_IN_AUCKLAND

    # The owner moves to Honolulu: the card's due (12:00 in Auckland) is still Dec 1.
    moved = await w.api.patch("/v1/me", json={"time_zone": "Pacific/Honolulu"})
    assert moved.status_code == 200, moved.text
    edited = await w.trello.post(f"/_emulator/cards/{card_id}/edit", json={"name": "Plan B"})
    assert edited.status_code == 200, edited.text

    async def renamed() -> Any:
        task = await w.task(task_id)
        return task if task["title"] == "Plan B" else None

    task = await eventually(renamed, within=WITHIN, what="the card's new name in core")
    assert (task["due_date"], task["due_at"]) == ("2026-12-01", None)
    history = (await w.api.get(f"/v1/tasks/{task_id}/history")).json()["items"]
    from_trello = [(h["origin"], h["changed_fields"]) for h in history if h["origin"] != "core"]
    assert from_trello == [(f"trello:{card_id}", ["title"])]

    # A new date is written as 12:00 in Honolulu.
    patched = await w.api.patch(f"/v1/tasks/{task_id}", json={"due_date": "2026-12-05"})
    assert patched.status_code == 200, patched.text

    async def written() -> Any:
        card = await w.card(card_id)
        return card if card.get("due") == "2026-12-05T22:00:00.000Z" else None

    await eventually(written, within=WITHIN, what="the new date on the card")
