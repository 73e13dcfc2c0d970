"""Cards, boards, lists and members as Trello serves them, errors included."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

HEX24 = re.compile(r"^[0-9a-f]{24}$")
NOT_FOUND = "The requested resource was not found."


def list_id(board: dict[str, Any], name: str) -> str:
    return next(str(item["id"]) for item in board["lists"] if item["name"] == name)


async def test_card_lifecycle(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    todo, done = list_id(board, "To do"), list_id(board, "Done")

    created = await client.post("/cards", params={"idList": todo, "name": "Write tests"})
    assert created.status_code == 200
    card = created.json()
    assert HEX24.match(card["id"])
    assert card["idBoard"] == board["id"]
    assert card["idList"] == todo
    assert (card["name"], card["desc"], card["due"], card["closed"]) == (
        "Write tests",
        "",
        None,
        False,
    )
    assert card["shortUrl"].startswith("https://trello.com/c/")
    for name in ("url", "dateLastActivity", "pos", "dueComplete", "start"):
        assert name in card

    fetched = await client.get(f"/cards/{card['id']}")
    assert fetched.json() == card

    updated = await client.put(
        f"/cards/{card['id']}", params={"desc": "**Markdown**", "idList": done}
    )
    assert updated.status_code == 200
    assert (updated.json()["desc"], updated.json()["idList"]) == ("**Markdown**", done)

    archived = await client.put(f"/cards/{card['id']}", params={"closed": "true"})
    assert archived.json()["closed"] is True
    open_cards = await client.get(f"/boards/{board['id']}/cards")
    assert [c["id"] for c in open_cards.json()] == []
    all_cards = await client.get(f"/boards/{board['id']}/cards", params={"filter": "all"})
    assert [c["id"] for c in all_cards.json()] == [card["id"]]

    deleted = await client.delete(f"/cards/{card['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"limits": {}}
    gone = await client.get(f"/cards/{card['id']}")
    assert (gone.status_code, gone.text) == (404, NOT_FOUND)
    assert gone.headers["content-type"].startswith("text/plain")
    again = await client.delete(f"/cards/{card['id']}")
    assert again.status_code == 404


@pytest.mark.parametrize("form", ["query", "form", "json"])
async def test_parameters_in_query_form_or_json(
    client: httpx.AsyncClient, board: dict[str, Any], form: str
) -> None:
    fields: dict[str, Any] = {
        "idList": list_id(board, "To do"),
        "name": "Due soon",
        "due": "2024-06-01T10:00:00+02:00",
        "dueComplete": "true",
    }
    if form == "query":
        response = await client.post("/cards", params=fields)
    elif form == "form":
        response = await client.post("/cards", data=fields)
    else:
        response = await client.post("/cards", json={**fields, "dueComplete": True})
    assert response.status_code == 200, response.text
    card = response.json()
    # Trello stores dates in UTC with milliseconds.
    assert card["due"] == "2024-06-01T08:00:00.000Z"
    assert card["dueComplete"] is True
    assert card["name"] == "Due soon"


async def test_dates_are_cleared_by_null(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    card = (
        await client.post(
            "/cards", json={"idList": list_id(board, "To do"), "due": "2024-06-01", "start": None}
        )
    ).json()
    assert card["due"] == "2024-06-01T00:00:00.000Z"
    cleared = await client.put(f"/cards/{card['id']}", json={"due": None})
    assert cleared.json()["due"] is None
    bad = await client.put(f"/cards/{card['id']}", params={"due": "next tuesday"})
    assert (bad.status_code, bad.text) == (400, "invalid value for due")


async def test_id_list_is_required(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    missing = await client.post("/cards", params={"name": "Orphan"})
    assert (missing.status_code, missing.text) == (400, "invalid value for idList")
    unknown = await client.post("/cards", params={"idList": "0" * 24})
    assert (unknown.status_code, unknown.text) == (400, "invalid value for idList")
    malformed = await client.post("/cards", params={"idList": "todo"})
    assert malformed.status_code == 400


async def test_description_limit(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    todo = list_id(board, "To do")
    at_limit = await client.post("/cards", json={"idList": todo, "desc": "x" * 16384})
    assert at_limit.status_code == 200
    over = await client.post("/cards", json={"idList": todo, "desc": "x" * 16385})
    assert (over.status_code, over.text) == (400, "invalid value for desc")
    update_over = await client.put(f"/cards/{at_limit.json()['id']}", json={"desc": "y" * 16385})
    assert update_over.status_code == 400


async def test_malformed_and_unknown_ids(client: httpx.AsyncClient) -> None:
    malformed = await client.get("/cards/not-an-id")
    assert (malformed.status_code, malformed.text) == (400, "invalid id")
    unknown = await client.get(f"/cards/{'a' * 24}")
    assert (unknown.status_code, unknown.text) == (404, NOT_FOUND)
    board = await client.get(f"/boards/{'b' * 24}")
    assert board.status_code == 404


async def test_short_link_addresses_a_card(
    client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    card = (await client.post("/cards", params={"idList": list_id(board, "To do")})).json()
    by_link = await client.get(f"/cards/{card['shortLink']}")
    assert by_link.json()["id"] == card["id"]


async def test_positions(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    todo = list_id(board, "To do")
    first = (await client.post("/cards", params={"idList": todo, "name": "a"})).json()
    second = (await client.post("/cards", params={"idList": todo, "name": "b"})).json()
    top = (await client.post("/cards", params={"idList": todo, "name": "c", "pos": "top"})).json()
    assert top["pos"] < first["pos"] < second["pos"]
    listed = await client.get(f"/lists/{todo}/cards")
    assert [c["name"] for c in listed.json()] == ["c", "a", "b"]
    bad = await client.post("/cards", params={"idList": todo, "pos": "-3"})
    assert (bad.status_code, bad.text) == (400, "invalid value for pos")


async def test_containers(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    me = (await client.get("/members/me")).json()
    assert me["id"] == "5e0000000000000000000001"
    assert {"id", "username", "fullName"} <= me.keys()

    boards = (await client.get("/members/me/boards")).json()
    assert [(b["id"], b["name"], b["closed"]) for b in boards] == [(board["id"], "Team", False)]
    assert boards[0]["url"].startswith("https://trello.com/b/")

    one = (await client.get(f"/boards/{board['id']}")).json()
    assert one["name"] == "Team"

    lists = (await client.get(f"/boards/{board['id']}/lists")).json()
    assert [item["name"] for item in lists] == ["To do", "Doing", "Done"]
    assert {"id", "name", "closed", "idBoard", "pos"} <= lists[0].keys()
    assert all(item["idBoard"] == board["id"] for item in lists)

    single = (await client.get(f"/lists/{lists[0]['id']}")).json()
    assert single == lists[0]


async def test_fields_projection_finds_a_marker(
    client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    todo = list_id(board, "To do")
    await client.post("/cards", json={"idList": todo, "name": "plain"})
    marked = await client.post(
        "/cards", json={"idList": todo, "name": "synced", "desc": "text\n\n[tether:abc123]"}
    )
    found = await client.get(f"/boards/{board['id']}/cards", params={"fields": "name,desc"})
    cards = found.json()
    assert all(set(card) == {"id", "name", "desc"} for card in cards)
    assert [c["id"] for c in cards if "[tether:abc123]" in c["desc"]] == [marked.json()["id"]]
    unknown = await client.get(f"/boards/{board['id']}/cards", params={"fields": "nope"})
    assert unknown.status_code == 400


async def test_boards_of_others_are_unauthorized(
    client: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    stranger = (await control.post("/members", json={"username": "stranger"})).json()
    private = (
        await control.post("/boards", json={"name": "Private", "members": [stranger["id"]]})
    ).json()
    response = await client.get(f"/boards/{private['id']}")
    assert (response.status_code, response.text) == (401, "unauthorized permission requested")
    create = await client.post("/cards", params={"idList": private["lists"][0]["id"]})
    assert create.status_code == 401
    mine = (await client.get("/members/me/boards")).json()
    assert private["id"] not in [b["id"] for b in mine]


async def test_unknown_route_and_trailing_slash(
    client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    unknown = await client.get("/nothing/here")
    assert (unknown.status_code, unknown.text) == (404, "Cannot GET /1/nothing/here")
    slashed = await client.get(f"/boards/{board['id']}/")
    assert slashed.status_code == 200
