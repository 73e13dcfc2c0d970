"""A card moved to another board: ``PUT /1/cards/{id}`` with ``idBoard`` (and ``idList``)
records ``moveCardFromBoard`` on the old board and ``moveCardToBoard`` on the new one, and a
webhook on the old board hears nothing of the card afterwards (PROVIDERS.md, Trello)."""

from __future__ import annotations

from typing import Any

import httpx

from tether_emulators.trello import TrelloEmulator
from tether_emulators.trello.testing import CallbackRecorder

CALLBACK = "http://tether.test/webhooks/trello"
UNAUTHORIZED = "unauthorized permission requested"


async def new_board(control: httpx.AsyncClient, name: str, **extra: Any) -> dict[str, Any]:
    answer = await control.post("/boards", json={"name": name, **extra})
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def new_card(client: httpx.AsyncClient, board: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/cards", json={"idList": board["lists"][0]["id"], "name": "A"})
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def watch(client: httpx.AsyncClient, board: dict[str, Any]) -> None:
    callback = f"{CALLBACK}?board={board['id']}"
    answer = await client.post("/webhooks", json={"callbackURL": callback, "idModel": board["id"]})
    assert answer.status_code == 200, answer.text


async def action_types(client: httpx.AsyncClient, board: dict[str, Any]) -> list[str]:
    answer = await client.get(f"/boards/{board['id']}/actions", params={"filter": "all"})
    assert answer.status_code == 200, answer.text
    return [action["type"] for action in answer.json()]


def delivered(recorder: CallbackRecorder, board: dict[str, Any]) -> list[str]:
    """The action types delivered to the webhook on ``board``, oldest first."""
    return [
        post.json()["action"]["type"]
        for post in recorder.posts
        if post.url.endswith(f"board={board['id']}")
    ]


async def settle(control: httpx.AsyncClient) -> None:
    assert (await control.post("/webhooks/flush")).status_code == 200


async def test_a_move_records_both_actions_in_trellos_shapes(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    other = await new_board(control, "Other")
    await new_card(client, other)  # so the moved card's idShort on "Other" is 2, not 1
    card = await new_card(client, board)
    doing = other["lists"][1]

    moved = await client.put(
        f"/cards/{card['id']}", json={"idBoard": other["id"], "idList": doing["id"]}
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["idBoard"], moved.json()["idList"]) == (other["id"], doing["id"])
    assert moved.json()["idShort"] == 2  # Trello numbers cards per board
    [left] = (
        await client.get(f"/boards/{board['id']}/actions", params={"filter": "moveCardFromBoard"})
    ).json()
    assert left["data"] == {
        "board": {"id": board["id"], "name": "Team", "shortLink": board["shortLink"]},
        "boardTarget": {"id": other["id"]},
        "card": {"id": card["id"], "name": "A"},
    }
    [arrived] = (
        await client.get(f"/boards/{other['id']}/actions", params={"filter": "moveCardToBoard"})
    ).json()
    assert arrived["data"] == {
        "board": {"id": other["id"], "name": "Other", "shortLink": other["shortLink"]},
        "boardSource": {"id": board["id"]},
        "card": {"id": card["id"], "name": "A", "idShort": 2, "shortLink": card["shortLink"]},
        "list": {"id": doing["id"], "name": "Doing"},
    }
    assert arrived["memberCreator"]["id"] == left["idMemberCreator"]
    # Neither board records an updateCard for the move.
    assert await action_types(client, board) == ["moveCardFromBoard", "createCard"]
    assert await action_types(client, other) == ["moveCardToBoard", "createCard"]
    listed = (await client.get(f"/boards/{other['id']}/cards")).json()
    assert card["id"] in [c["id"] for c in listed]
    assert card["id"] not in [
        c["id"] for c in (await client.get(f"/boards/{board['id']}/cards")).json()
    ]


async def test_without_idlist_the_card_lands_in_the_first_open_list(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    control: httpx.AsyncClient,
    emulator: TrelloEmulator,
) -> None:
    other = await new_board(control, "Other")
    emulator.store.lists[other["lists"][0]["id"]].closed = True
    card = await new_card(client, board)

    moved = await client.put(f"/cards/{card['id']}", params={"idBoard": other["id"]})

    assert moved.status_code == 200, moved.text
    assert moved.json()["idList"] == other["lists"][1]["id"]


async def test_old_board_webhook_hears_the_leaving_and_nothing_after(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    control: httpx.AsyncClient,
    recorder: CallbackRecorder,
) -> None:
    other = await new_board(control, "Other")
    card = await new_card(client, board)
    await watch(client, board)
    await watch(client, other)

    moved = await client.put(
        f"/cards/{card['id']}", json={"idBoard": other["id"], "name": "Moved and renamed"}
    )
    assert moved.status_code == 200, moved.text
    edited = await control.post(f"/cards/{card['id']}/edit", json={"desc": "Edited there"})
    assert edited.status_code == 200, edited.text
    await settle(control)

    assert delivered(recorder, board) == ["moveCardFromBoard"]
    # The rename in the same PUT happens on the new board, after the move.
    assert delivered(recorder, other) == ["moveCardToBoard", "updateCard", "updateCard"]
    renamed = next(p.json() for p in recorder.posts if p.json()["action"]["type"] == "updateCard")
    assert renamed["action"]["data"]["board"]["id"] == other["id"]
    assert renamed["action"]["data"]["old"] == {"name": "A"}


async def test_a_move_needs_the_member_on_both_boards(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    # Only the person in Trello is on "Private", not Tether's member.
    private = await new_board(control, "Private", members=[])
    card = await new_card(client, board)

    refused = await client.put(f"/cards/{card['id']}", json={"idBoard": private["id"]})

    assert (refused.status_code, refused.text) == (401, UNAUTHORIZED)
    assert (await client.get(f"/cards/{card['id']}")).json()["idBoard"] == board["id"]
    assert await action_types(client, board) == ["createCard"]


async def test_malformed_moves_are_refused_and_change_nothing(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    other = await new_board(control, "Other")
    card = await new_card(client, board)
    path = f"/cards/{card['id']}"

    cases = [
        ({"idBoard": "not-an-id"}, "invalid value for idBoard"),
        ({"idBoard": "5e00000000000000000000ff"}, "invalid value for idBoard"),
        # idList must be on the board idBoard names...
        ({"idBoard": other["id"], "idList": board["lists"][1]["id"]}, "invalid value for idList"),
        # ...and a list of another board alone does not move the card.
        ({"idList": other["lists"][0]["id"]}, "invalid value for idList"),
    ]
    for params, message in cases:
        answer = await client.put(path, json=params)
        assert (answer.status_code, answer.text) == (400, message), params
    assert (await client.get(path)).json()["idList"] == board["lists"][0]["id"]
    assert await action_types(client, other) == []


async def test_a_person_moves_a_card_out_of_tethers_reach(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    control: httpx.AsyncClient,
    recorder: CallbackRecorder,
) -> None:
    private = await new_board(control, "Private", members=[])
    card = await new_card(client, board)
    await watch(client, board)

    moved = await control.post(f"/cards/{card['id']}/edit", json={"idBoard": private["id"]})
    assert moved.status_code == 200, moved.text
    assert [a["type"] for a in moved.json()["actions"]] == ["moveCardFromBoard", "moveCardToBoard"]
    assert moved.json()["action"]["type"] == "moveCardToBoard"
    assert moved.json()["card"]["idList"] == private["lists"][0]["id"]
    await control.post(f"/cards/{card['id']}/edit", json={"name": "Out of reach"})
    await settle(control)

    assert delivered(recorder, board) == ["moveCardFromBoard"]
    read = await client.get(f"/cards/{card['id']}")
    assert (read.status_code, read.text) == (401, UNAUTHORIZED)
    # The token itself still works.
    assert (await client.get("/members/me")).status_code == 200


async def test_a_person_off_the_target_board_cannot_move_there(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    # On the card's board, not on the one it would go to.
    outsider = await control.post("/members", json={"username": "outsider", "joinBoards": True})
    other = await new_board(control, "Other", members=[])
    card = await new_card(client, board)

    refused = await control.post(
        f"/cards/{card['id']}/edit",
        json={"idBoard": other["id"], "member": outsider.json()["id"]},
    )

    assert (refused.status_code, refused.text) == (401, UNAUTHORIZED)
    assert (await client.get(f"/cards/{card['id']}")).json()["idBoard"] == board["id"]


async def test_an_outage_of_the_target_board_refuses_the_move(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    other = await new_board(control, "Other")
    card = await new_card(client, board)
    outage = await control.post("/outages", json={"boardId": other["id"], "status": 503})
    assert outage.status_code == 200, outage.text

    refused = await client.put(f"/cards/{card['id']}", json={"idBoard": other["id"]})

    assert refused.status_code == 503
    assert (await control.delete("/outages")).status_code == 200
    assert (await client.get(f"/cards/{card['id']}")).json()["idBoard"] == board["id"]


# --- a list moved to another board, its cards with it -------------------------------------------


async def test_a_list_moves_with_its_cards_and_names_none_of_them(
    client: httpx.AsyncClient,
    board: dict[str, Any],
    control: httpx.AsyncClient,
    recorder: CallbackRecorder,
) -> None:
    other = await new_board(control, "Other")
    await watch(client, board)
    await watch(client, other)
    card = await new_card(client, board)
    todo = board["lists"][0]

    moved = await client.put(f"/lists/{todo['id']}/idBoard", json={"value": other["id"]})

    assert moved.status_code == 200, moved.text
    assert moved.json()["idBoard"] == other["id"]
    assert (await client.get(f"/cards/{card['id']}")).json()["idBoard"] == other["id"]
    [left] = (
        await client.get(f"/boards/{board['id']}/actions", params={"filter": "moveListFromBoard"})
    ).json()
    assert left["data"] == {
        "board": {"id": board["id"], "name": "Team", "shortLink": board["shortLink"]},
        "boardTarget": {"id": other["id"]},
        "list": {"id": todo["id"], "name": todo["name"]},
    }
    [arrived] = (
        await client.get(f"/boards/{other['id']}/actions", params={"filter": "moveListToBoard"})
    ).json()
    assert arrived["data"]["boardSource"] == {"id": board["id"]}
    await settle(control)
    assert delivered(recorder, board) == ["createCard", "moveListFromBoard"]
    assert delivered(recorder, other) == ["moveListToBoard"]

    renamed = await client.put(f"/cards/{card['id']}", json={"name": "B"})
    assert renamed.status_code == 200, renamed.text
    await settle(control)
    assert delivered(recorder, board) == ["createCard", "moveListFromBoard"], "nothing after"


async def test_a_list_move_needs_the_member_on_both_boards_and_a_board(
    client: httpx.AsyncClient, board: dict[str, Any], control: httpx.AsyncClient
) -> None:
    private = await new_board(control, "Private", members=[])
    todo = board["lists"][0]

    refused = await client.put(f"/lists/{todo['id']}/idBoard", json={"value": private["id"]})
    assert (refused.status_code, refused.text) == (401, UNAUTHORIZED)
    unknown = await client.put(f"/lists/{todo['id']}/idBoard", json={"value": "5" * 24})
    assert (unknown.status_code, unknown.text) == (400, "invalid value for value")
    missing = await client.put(f"/lists/{todo['id']}/idBoard", json={})
    assert missing.status_code == 400
    assert (await client.get(f"/lists/{todo['id']}")).json()["idBoard"] == board["id"]
