"""The /_emulator control API: seeding, acting as a person, the request log, reset."""

from __future__ import annotations

from typing import Any

import httpx

from tether_emulators.trello.testing import CallbackRecorder


async def test_seeded_board_and_member_work_on_the_api(
    control: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    member = (
        await control.post("/members", json={"username": "alice", "fullName": "Alice Liddell"})
    ).json()
    assert len(member["token"]) == 64
    board = (await control.post("/boards", json={"name": "Ops", "lists": ["In", "Out"]})).json()
    assert [item["name"] for item in board["lists"]] == ["In", "Out"]
    assert member["id"] in board["members"]

    as_alice = await client.get("/members/me", params={"token": member["token"]})
    assert as_alice.json()["fullName"] == "Alice Liddell"
    boards = await client.get("/members/me/boards", params={"token": member["token"]})
    assert [b["id"] for b in boards.json()] == [board["id"]]

    overview = (await control.get("")).json()
    assert overview["key"] == "sandbox-key"
    assert [b["name"] for b in overview["boards"]] == ["Ops"]


async def test_person_creates_and_deletes_cards(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    created = await control.post("/cards", json={"idList": board["lists"][0]["id"], "name": "Hi"})
    card = created.json()
    assert (await client.get(f"/cards/{card['id']}")).json()["name"] == "Hi"
    deleted = await control.delete(f"/cards/{card['id']}")
    assert deleted.json()["action"]["type"] == "deleteCard"
    assert deleted.json()["action"]["memberCreator"]["username"] == "trello-person"
    assert (await client.get(f"/cards/{card['id']}")).status_code == 404
    bad = await control.post(f"/cards/{card['id']}/edit", json={"name": "x"})
    assert bad.status_code == 404


async def test_a_person_fills_a_list_in_one_request(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    todo = board["lists"][0]["id"]
    filled = await control.post("/cards/fill", json={"idList": todo, "count": 250, "name": "x"})
    assert filled.json() == {"created": 250}
    cards = (await client.get(f"/lists/{todo}/cards", params={"limit": 1000})).json()
    assert sorted(c["name"] for c in cards) == sorted(f"x {n}" for n in range(250))
    bad = await control.post("/cards/fill", json={"idList": todo, "count": 0})
    assert bad.status_code == 422  # the control API's own validation, not Trello's


async def test_request_log_counts_api_calls_only(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    todo = board["lists"][0]["id"]
    card = (await client.post("/cards", params={"idList": todo})).json()
    await client.put(f"/cards/{card['id']}/", params={"name": "renamed"})
    await client.get(f"/cards/{'f' * 24}")
    await client.get("/members/me", params={"token": "nope"})
    await control.post(f"/cards/{card['id']}/edit", json={"name": "by hand"})

    log = (await control.get("/requests")).json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", "/1/cards", 200),
        ("PUT", f"/1/cards/{card['id']}", 200),
        ("GET", f"/1/cards/{'f' * 24}", 404),
        ("GET", "/1/members/me", 401),
    ]
    writes = [e for e in log if e["method"] in ("POST", "PUT", "DELETE")]
    assert len(writes) == 2
    later = (await control.get("/requests", params={"since": log[1]["seq"]})).json()
    assert len(later) == 2
    # A write shows what it sent (a benchmark finds its marks there); each call when it came
    # in and was answered, on this machine's clock.
    assert "name=renamed" in log[1]["excerpt"]
    assert log[2]["excerpt"] == ""
    assert all(e["received"] <= e["answered"] for e in log)
    shown = (await control.get(f"/cards/{card['id']}")).json()
    assert shown["name"] == "by hand"
    assert len((await control.get("/requests")).json()) == len(log), "control calls not logged"


async def test_reset_returns_to_the_configured_start(
    control: httpx.AsyncClient,
    client: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    await client.post("/webhooks", params={"callbackURL": "http://x.test/", "idModel": board["id"]})
    await control.post("/webhooks/pause")
    await client.post("/cards", params={"idList": board["lists"][0]["id"]})
    assert (await control.post("/reset")).json() == {"reset": True}

    assert (await control.get("/requests")).json() == []
    assert (await control.get("/webhooks")).json() == []
    overview = (await control.get("")).json()
    assert overview["boards"] == []
    assert overview["paused"] is False
    # The tokens given to create_trello_emulator survive a reset.
    assert (await client.get("/members/me")).status_code == 200
    assert (await client.get(f"/boards/{board['id']}")).status_code == 404
    assert recorder.posts == []
