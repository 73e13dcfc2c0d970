"""The board's action log: the polling fallback for webhooks that never arrived."""

from __future__ import annotations

from typing import Any

import httpx

from tether_emulators.trello import TrelloEmulator
from tether_emulators.trello.testing import ManualClock


async def actions(
    client: httpx.AsyncClient, board: dict[str, Any], **params: str | int
) -> httpx.Response:
    return await client.get(f"/boards/{board['id']}/actions", params=params)


async def make_history(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> list[str]:
    """createCard, updateCard (rename), updateCard (move), deleteCard, a minute apart."""
    lists = [item["id"] for item in board["lists"]]
    card = (await client.post("/cards", params={"idList": lists[0], "name": "a"})).json()
    clock.advance(60)
    await client.put(f"/cards/{card['id']}", params={"name": "b"})
    clock.advance(60)
    await client.put(f"/cards/{card['id']}", params={"idList": lists[1]})
    clock.advance(60)
    await client.delete(f"/cards/{card['id']}")
    return [card["id"]]


async def test_newest_first_with_old_values(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    [card_id] = await make_history(client, board, clock)
    response = await actions(client, board, filter="createCard,updateCard,deleteCard", limit=1000)
    found = response.json()
    assert [a["type"] for a in found] == ["deleteCard", "updateCard", "updateCard", "createCard"]
    assert [a["date"] for a in found] == [
        "2024-05-01T12:03:00.000Z",
        "2024-05-01T12:02:00.000Z",
        "2024-05-01T12:01:00.000Z",
        "2024-05-01T12:00:00.000Z",
    ]
    assert all(a["data"]["card"]["id"] == card_id for a in found)
    assert found[2]["data"]["old"] == {"name": "a"}
    assert found[1]["data"]["old"] == {"idList": board["lists"][0]["id"]}
    assert found[1]["data"]["listAfter"]["id"] == board["lists"][1]["id"]
    assert all(a["memberCreator"]["id"] == a["idMemberCreator"] for a in found)


async def test_since_an_action_id_or_a_date(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    await make_history(client, board, clock)
    everything = (await actions(client, board)).json()
    oldest = everything[-1]
    newer = (await actions(client, board, since=oldest["id"])).json()
    assert [a["id"] for a in newer] == [a["id"] for a in everything[:-1]]

    by_date = (await actions(client, board, since="2024-05-01T12:01:30Z")).json()
    assert [a["type"] for a in by_date] == ["deleteCard", "updateCard"]
    before = (await actions(client, board, before=everything[0]["id"])).json()
    assert len(before) == 3


async def test_filters_and_limits(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    await make_history(client, board, clock)
    moves = (await actions(client, board, filter="updateCard:idList")).json()
    assert [a["data"]["old"] for a in moves] == [{"idList": board["lists"][0]["id"]}]
    assert len((await actions(client, board, limit=2)).json()) == 2
    too_many = await actions(client, board, limit=1001)
    assert (too_many.status_code, too_many.text) == (400, "invalid value for limit")
    bad_filter = await actions(client, board, filter="everything")
    assert (bad_filter.status_code, bad_filter.text) == (400, "invalid value for filter")
    bad_since = await actions(client, board, since="yesterday")
    assert (bad_since.status_code, bad_since.text) == (400, "invalid value for since")


async def test_actions_of_many_changes_in_the_same_second_keep_their_order(
    client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    todo = board["lists"][0]["id"]
    created = [
        (await client.post("/cards", params={"idList": todo, "name": str(n)})).json()["id"]
        for n in range(5)
    ]
    found = (await actions(client, board)).json()
    assert [a["data"]["card"]["id"] for a in found] == created[::-1]
    since_third = (await actions(client, board, since=found[2]["id"])).json()
    assert [a["data"]["card"]["id"] for a in since_third] == created[:2:-1]


async def test_paging_back_with_before_reaches_since_without_gaps_or_overlaps(
    client: httpx.AsyncClient, board: dict[str, Any], emulator: TrelloEmulator
) -> None:
    # As a poller after a long webhook outage: 2,500 actions after its cursor, 1,000 a page.
    todo = board["lists"][0]["id"]
    card = (await client.post("/cards", params={"idList": todo, "name": "start"})).json()
    [cursor] = (await actions(client, board, limit=1)).json()
    stored = emulator.store.card(card["id"])
    for n in range(2500):  # within one second: ids alone keep their order
        emulator.update_card(emulator.person, stored, {"name": f"n{n}"})
    pages: list[list[dict[str, Any]]] = []
    before: dict[str, str] = {}
    while not pages or len(pages[-1]) == 1000:
        page = await actions(client, board, since=cursor["id"], limit=1000, **before)
        assert page.status_code == 200, page.text
        pages.append(page.json())
        before = {"before": pages[-1][-1]["id"]} if pages[-1] else {}
    assert [len(p) for p in pages] == [1000, 1000, 500]
    names = [a["data"]["card"]["name"] for p in pages for a in p]
    assert names == [f"n{n}" for n in reversed(range(2500))]  # newest first, each once


async def test_before_a_date_and_limit_bounds(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    await make_history(client, board, clock)
    older = (await actions(client, board, before="2024-05-01T12:01:30Z")).json()
    assert [a["type"] for a in older] == ["updateCard", "createCard"]
    assert len((await actions(client, board)).json()) == 4  # default 50
    assert (await actions(client, board, limit=0)).json() == []
    for bad in (-1, "ten", "1e3"):
        refused = await actions(client, board, limit=bad)
        assert (refused.status_code, refused.text) == (400, "invalid value for limit")
    bad_before = await actions(client, board, before="not-an-id")
    assert (bad_before.status_code, bad_before.text) == (400, "invalid value for before")
