"""Reconciliation loses nothing (end to end: the services as processes on real Kafka and
PostgreSQL, the Trello emulator as a process).

A webhook outage (every delivery lost) while the board is also unreadable (503): a person
renames a linked card, then the board sees more than a page (1,000) of other card actions.
When the board is back, reconciliation pages back to its cursor and the rename reaches the
task; one page only would have moved the cursor past it for good.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 90.0
OTHER_ACTIONS = 1001  # one more than Trello's largest page


async def requests_seen(world: TrelloWorld) -> list[dict[str, Any]]:
    answer = await world.trello.get("/_emulator/requests")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def test_a_rename_followed_by_more_than_a_page_of_actions_is_reconciled(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_id, card_id = await world.export_new_task(title="Plan the week")
    busy = await world.trello.post(
        "/_emulator/cards", json={"idList": world.list_id, "name": "A busy card"}
    )
    assert busy.status_code == 200, busy.text
    busy_id = busy.json()["id"]

    # A reconciliation pass has read the board since the export: its cursor predates the rename.
    exported_at = max(r["seq"] for r in await requests_seen(world))
    actions_path = f"/1/boards/{world.board_id}/actions"

    async def board_read_since_export() -> bool:
        return any(
            r["seq"] > exported_at and r["path"] == actions_path and r["status"] == 200
            for r in await requests_seen(world)
        )

    await eventually(board_read_since_export, within=WITHIN, what="a reconciliation pass")

    # The outage: the board answers 503 (passes fail, cursors stay) and every webhook is lost.
    outage = await world.trello.post(
        "/_emulator/outages", json={"board_id": world.board_id, "status": 503}
    )
    assert outage.status_code == 200, outage.text
    dropped = await world.trello.post(
        "/_emulator/webhooks/drop-next", params={"count": OTHER_ACTIONS + 1}
    )
    assert dropped.status_code == 200, dropped.text

    renamed = await world.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed during the outage"}
    )
    assert renamed.status_code == 200, renamed.text
    for start in range(0, OTHER_ACTIONS, 50):
        edits = [
            world.trello.post(f"/_emulator/cards/{busy_id}/edit", json={"desc": f"note {n}"})
            for n in range(start, min(start + 50, OTHER_ACTIONS))
        ]
        assert all(a.status_code == 200 for a in await asyncio.gather(*edits))
    assert (await world.task(task_id))["title"] == "Plan the week"  # nothing arrived yet

    ended = await world.trello.delete("/_emulator/outages")
    assert ended.status_code == 200, ended.text

    async def rename_arrived() -> bool:
        return bool((await world.task(task_id))["title"] == "Renamed during the outage")

    await eventually(rename_arrived, within=WITHIN, what="the rename, by reconciliation")
