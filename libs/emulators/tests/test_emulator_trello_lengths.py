"""A card's ``name`` and ``desc`` hold at most 16384 characters; longer is a 400, never a
silently truncated card (PROVIDERS.md, Trello), through the API and a person's edit alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

TRELLO_TEXT_MAX = 16384


def todo_of(board: dict[str, Any]) -> str:
    return next(str(item["id"]) for item in board["lists"] if item["name"] == "To do")


@pytest.mark.parametrize("field", ["name", "desc"])
async def test_text_over_the_limit_is_refused_on_create_and_update(
    client: httpx.AsyncClient, board: dict[str, Any], field: str
) -> None:
    todo = todo_of(board)
    at_limit = await client.post("/cards", json={"idList": todo, field: "x" * TRELLO_TEXT_MAX})
    assert at_limit.status_code == 200, at_limit.text
    card = at_limit.json()
    over = await client.post("/cards", json={"idList": todo, field: "x" * (TRELLO_TEXT_MAX + 1)})
    assert (over.status_code, over.text) == (400, f"invalid value for {field}")
    update = await client.put(f"/cards/{card['id']}", json={field: "y" * (TRELLO_TEXT_MAX + 1)})
    assert (update.status_code, update.text) == (400, f"invalid value for {field}")

    kept = (await client.get(f"/cards/{card['id']}")).json()
    assert kept[field] == "x" * TRELLO_TEXT_MAX  # refused whole: nothing was cut or stored


async def test_a_persons_edit_over_the_limit_is_refused_too(
    client: httpx.AsyncClient, control: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    card = (await client.post("/cards", json={"idList": todo_of(board), "name": "Plan"})).json()

    refused = await control.post(
        f"/cards/{card['id']}/edit", json={"name": "n" * (TRELLO_TEXT_MAX + 1)}
    )
    accepted = await control.post(f"/cards/{card['id']}/edit", json={"desc": "d" * TRELLO_TEXT_MAX})

    assert refused.status_code == 400
    assert accepted.status_code == 200, accepted.text
    now = (await client.get(f"/cards/{card['id']}")).json()
    assert (now["name"], len(now["desc"])) == ("Plan", TRELLO_TEXT_MAX)
