"""Outages (/_emulator/outages): Trello failing with a 5xx for one board, or for everything.

Every API request concerning a failing board answers the outage's status in plain text and
does nothing; other boards are served as usual; ending the outages restores service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tether_emulators.trello.testing import CallbackRecorder

CALLBACK = "https://tether.test/webhooks/trello"


@pytest.fixture
async def other_board(new_board: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    return await new_board("Elsewhere")


async def _card(client: httpx.AsyncClient, board: dict[str, Any], name: str) -> dict[str, Any]:
    response = await client.post("/cards", json={"idList": board["lists"][0]["id"], "name": name})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def _cards(control: httpx.AsyncClient, board: dict[str, Any]) -> list[dict[str, Any]]:
    return list((await control.get(f"/boards/{board['id']}/cards")).json())


async def test_a_failing_board_answers_503_and_nothing_changes_while_others_work(
    control: httpx.AsyncClient,
    client: httpx.AsyncClient,
    recorder: CallbackRecorder,
    board: dict[str, Any],
    other_board: dict[str, Any],
) -> None:
    card = await _card(client, board, "Before")
    other = await _card(client, other_board, "Other")
    hooked = await client.post("/webhooks", json={"callbackURL": CALLBACK, "idModel": board["id"]})
    assert hooked.status_code == 200, hooked.text
    await control.delete("/requests")

    started = await control.post("/outages", json={"board_id": board["id"], "status": 503})
    assert started.json() == {"board_id": board["id"], "status": 503}

    todo = board["lists"][0]["id"]
    refused = [
        await client.get(f"/cards/{card['id']}"),
        await client.get(f"/cards/{card['shortLink']}"),
        await client.put(f"/cards/{card['id']}", json={"name": "During"}),
        await client.post("/cards", json={"idList": todo, "name": "New"}),
        await client.get(f"/boards/{board['id']}/cards"),
        await client.get(f"/boards/{board['id']}/actions"),
        await client.get(f"/lists/{todo}"),
        await client.get(f"/webhooks/{hooked.json()['id']}"),
    ]
    for answer in refused:
        assert answer.status_code == 503, answer.request.url
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == "Service Unavailable"
    # Nothing was performed: no edit, no new card, no action, no webhook delivery.
    assert [(c["id"], c["name"]) for c in await _cards(control, board)] == [(card["id"], "Before")]
    assert (await control.post("/webhooks/flush")).status_code == 200
    assert recorder.posts == []

    # The other board is served as usual, in the same outage.
    assert (await client.get(f"/cards/{other['id']}")).json()["name"] == "Other"
    moved = await client.put(f"/cards/{other['id']}", json={"name": "Other, edited"})
    assert moved.status_code == 200, moved.text
    assert (await client.get("/members/me")).status_code == 200

    # The refusals are in the request log with their status, next to the calls served.
    log = (await control.get("/requests")).json()
    assert [(e["method"], e["status"]) for e in log] == [
        *[(answer.request.method, 503) for answer in refused],
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
    ]
    assert log[3]["path"] == "/1/cards"


async def test_ending_the_outages_restores_service(
    control: httpx.AsyncClient,
    client: httpx.AsyncClient,
    board: dict[str, Any],
    other_board: dict[str, Any],
) -> None:
    card = await _card(client, board, "Before")
    await control.post("/outages", json={"board_id": board["id"]})  # 503 unless told
    await control.post("/outages", json={"boardId": other_board["id"], "status": 500})
    assert (await client.get(f"/cards/{card['id']}")).status_code == 503
    listed = (await control.get("/outages")).json()
    assert listed == [
        {"board_id": board["id"], "status": 503},
        {"board_id": other_board["id"], "status": 500},
    ]

    assert (await control.delete("/outages")).json() == {"ended": 2}
    assert (await control.get("/outages")).json() == []
    edited = await client.put(f"/cards/{card['id']}", json={"name": "After"})
    assert edited.status_code == 200, edited.text
    assert (await client.get(f"/cards/{card['id']}")).json()["name"] == "After"
    assert [c["name"] for c in await _cards(control, board)] == ["After"]


async def test_an_outage_of_everything_fails_every_request_and_spends_no_limit(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    before = await client.get(f"/boards/{board['id']}")
    remaining = int(before.headers["x-rate-limit-api-token-remaining"])

    await control.post("/outages", json={"board_id": None, "status": 502})
    for answer in (
        await client.get("/members/me"),
        await client.get(f"/boards/{board['id']}/lists"),
        await client.get("/tokens/tether-token/webhooks"),
        # Before auth: the part of Trello that would check the token is the part that is down.
        await client.get("/members/me", params={"token": "not-a-token"}),
    ):
        assert (answer.status_code, answer.text) == (502, "Bad Gateway")
    await control.delete("/outages")

    after = await client.get(f"/boards/{board['id']}")
    assert after.status_code == 200
    assert int(after.headers["x-rate-limit-api-token-remaining"]) == remaining - 1


async def test_outage_requests_are_checked_and_reset_ends_them(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    assert (await control.post("/outages", json={"status": 503})).status_code == 422
    assert (await control.post("/outages", json={"board_id": None, "status": 404})).status_code == (
        422
    )
    unknown = await control.post("/outages", json={"board_id": "f" * 24})
    assert unknown.status_code == 404
    # A board named by its short link fails under its id.
    short = await control.post("/outages", json={"board_id": board["shortLink"], "status": 504})
    assert short.json() == {"board_id": board["id"], "status": 504}

    assert (await control.post("/reset")).status_code == 200
    assert (await control.get("/outages")).json() == []
    assert (await client.get("/members/me")).status_code == 200
