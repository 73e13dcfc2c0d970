"""Withheld answers (/_emulator/holds): Trello performs a request, its answer waits. And the
board's cards as the control API lists them, which is how such tests count duplicates.

This is how crash tests put a client between "Trello created the card" and "the client heard
of it": the card exists, the client hangs, and whether it then gets the answer, gives up or
dies is up to the test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tether_emulators.common.testing import served
from tether_emulators.trello import create_trello_emulator

CREATE_HOLD = {"method": "POST", "path": "/1/cards", "count": 1}


async def _until(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll ``probe`` until it returns something truthy (the held request runs concurrently)."""
    last: Any = None
    for _ in range(500):
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} never happened (last: {last!r})")


def _waiting(control: httpx.AsyncClient, count: int = 1) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        holds = (await control.get("/holds")).json()
        return holds if holds["waiting"] == count else None

    return probe


async def test_a_held_create_is_performed_but_answered_only_when_released(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    armed = await control.post("/holds", json=CREATE_HOLD)
    assert armed.json() == {"method": "POST", "path": "/1/cards", "remaining": 1}

    answer = asyncio.create_task(
        client.post("/cards", json={"idList": board["lists"][0]["id"], "name": "Held"})
    )
    holds = await _until(_waiting(control), "the create being held")
    assert holds["rules"] == []  # the one hold is spent
    assert [(h["method"], h["path"], h["status"]) for h in holds["held"]] == [
        ("POST", "/1/cards", 200)
    ]
    # Trello has done the work: the card is on the board and the call is in the request log.
    [card] = (await control.get(f"/boards/{board['id']}/cards")).json()
    assert card["name"] == "Held"
    assert [(e["method"], e["path"]) for e in (await control.get("/requests")).json()] == [
        ("POST", "/1/cards")
    ]
    assert not answer.done()

    assert (await control.post("/holds/release")).json() == {"released": 1}
    response = await answer
    assert response.status_code == 200
    assert response.json()["id"] == card["id"]
    holds = (await control.get("/holds")).json()
    assert (holds["waiting"], holds["delivered"], holds["abandoned"]) == (0, 1, 0)


async def test_only_the_next_matching_requests_are_held(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    todo = board["lists"][0]["id"]
    await control.post("/holds", json={"method": "post", "path": "/1/cards/", "count": 2})

    # Other methods and paths are answered at once.
    assert (await client.get(f"/boards/{board['id']}/cards")).status_code == 200
    first = asyncio.create_task(client.post("/cards/", params={"idList": todo}))
    await _until(_waiting(control, 1), "the first create being held")
    assert (await control.get("/holds")).json()["rules"][0]["remaining"] == 1
    second = asyncio.create_task(client.post("/cards", params={"idList": todo}))
    await _until(_waiting(control, 2), "the second create being held")

    cleared = await control.delete("/holds")
    assert cleared.json() == {"disarmed": 0, "released": 2}
    assert [(await first).status_code, (await second).status_code] == [200, 200]
    # The holds are spent: the third create is answered at once.
    third = await client.post("/cards", params={"idList": todo})
    assert third.status_code == 200
    assert len((await control.get(f"/boards/{board['id']}/cards")).json()) == 3


async def test_clearing_disarms_rules_not_yet_spent(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    await control.post("/holds", json={**CREATE_HOLD, "count": 3})
    assert (await control.delete("/holds")).json() == {"disarmed": 1, "released": 0}
    created = await client.post("/cards", params={"idList": board["lists"][0]["id"]})
    assert created.status_code == 200
    assert (await control.get("/holds")).json()["rules"] == []


async def test_reset_answers_held_requests_and_forgets_the_rules(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    await control.post("/holds", json={**CREATE_HOLD, "count": 2})
    held = asyncio.create_task(client.post("/cards", params={"idList": board["lists"][0]["id"]}))
    await _until(_waiting(control), "the create being held")
    await control.post("/reset")
    assert (await held).status_code == 200
    assert (await control.get("/holds")).json()["rules"] == []


async def test_only_api_paths_can_be_held(control: httpx.AsyncClient) -> None:
    refused = await control.post("/holds", json={**CREATE_HOLD, "path": "/_emulator/holds"})
    assert refused.status_code == 400
    assert (await control.post("/holds", json={**CREATE_HOLD, "count": 0})).status_code == 422
    assert (await control.get("/holds")).json()["rules"] == []


KEY, TOKEN = "sandbox-key", "served-token"


async def test_board_cards_counts_archived_cards_too(
    control: httpx.AsyncClient, client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    """What crash tests count duplicates with: an archived duplicate is still a duplicate."""
    todo = board["lists"][0]["id"]
    first = (await client.post("/cards", params={"idList": todo, "name": "one"})).json()
    await client.post("/cards", params={"idList": todo, "name": "two"})
    await client.put(f"/cards/{first['id']}", params={"closed": "true"})
    other = (await control.post("/boards", json={"name": "Other"})).json()
    await client.post("/cards", params={"idList": other["lists"][0]["id"], "name": "elsewhere"})

    cards = (await control.get(f"/boards/{board['id']}/cards")).json()
    assert [(c["name"], c["closed"]) for c in cards] == [("one", True), ("two", False)]
    assert (await client.get(f"/boards/{board['id']}/cards")).json()[0]["name"] == "two"
    assert (await control.get(f"/boards/{'f' * 24}/cards")).status_code == 404


async def test_a_client_that_hangs_up_never_gets_the_answer_but_the_card_stays() -> None:
    # On a real socket, where a client hanging up is a closed connection.
    app = create_trello_emulator(tokens={TOKEN: "5e0000000000000000000001"})
    async with served(app) as base, httpx.AsyncClient(base_url=f"{base}/_emulator") as control:
        board = (await control.post("/boards", json={"name": "Team"})).json()
        await control.post("/holds", json=CREATE_HOLD)
        async with httpx.AsyncClient(
            base_url=f"{base}/1", params={"key": KEY, "token": TOKEN}
        ) as doomed:
            held = asyncio.create_task(
                doomed.post("/cards", params={"idList": board["lists"][0]["id"]})
            )
            await _until(_waiting(control), "the create being held")
            held.cancel()  # the client gives up: its connection is closed
            with contextlib.suppress(asyncio.CancelledError):
                await held

        async def abandoned() -> Any:
            holds = (await control.get("/holds")).json()
            return holds if holds["abandoned"] == 1 else None

        holds = await _until(abandoned, "the hang-up to be noticed")
        assert (holds["waiting"], holds["delivered"]) == (0, 0)
        assert len((await control.get(f"/boards/{board['id']}/cards")).json()) == 1
