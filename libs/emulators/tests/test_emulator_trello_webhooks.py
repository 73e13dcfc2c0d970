"""Webhooks: the HEAD check, signed asynchronous deliveries, retries, 410, and lost deliveries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tether_emulators.trello import TrelloEmulator, trello_signature
from tether_emulators.trello.testing import CallbackRecorder

SECRET = "sandbox-secret"  # create_trello_emulator's default
CALLBACK = "http://tether.test/webhooks/trello?account=7&kind=board"


async def register(
    client: httpx.AsyncClient, id_model: str, callback: str = CALLBACK, **extra: str
) -> dict[str, Any]:
    response = await client.post(
        "/webhooks", params={"callbackURL": callback, "idModel": id_model, **extra}
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def settle(control: httpx.AsyncClient) -> None:
    assert (await control.post("/webhooks/flush")).status_code == 200


def first_list(board: dict[str, Any]) -> str:
    return str(board["lists"][0]["id"])


async def test_head_check_refuses_a_callback_that_is_not_200(
    client: httpx.AsyncClient, board: dict[str, Any], recorder: CallbackRecorder
) -> None:
    recorder.head_status = 404
    response = await client.post(
        "/webhooks", params={"callbackURL": CALLBACK, "idModel": board["id"]}
    )
    assert response.status_code == 400
    assert response.text == f"URL ({CALLBACK}) did not return 200 status code, got 404"
    assert recorder.heads == [CALLBACK]
    assert (await client.get("/tokens/tether-token/webhooks")).json() == []


async def test_head_check_refuses_an_unreachable_callback(
    client: httpx.AsyncClient, emulator: TrelloEmulator, board: dict[str, Any]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    emulator.dispatcher.transport = httpx.MockTransport(refuse)
    response = await client.post(
        "/webhooks", params={"callbackURL": CALLBACK, "idModel": board["id"]}
    )
    assert response.status_code == 400
    assert "did not return 200 status code" in response.text


async def test_webhook_crud_and_validation(
    client: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    hook = await register(client, board["id"], description="Tether")
    assert hook["callbackURL"] == CALLBACK
    assert (hook["idModel"], hook["active"], hook["description"]) == (board["id"], True, "Tether")
    assert (await client.get(f"/webhooks/{hook['id']}")).json() == hook
    listed = await client.get("/tokens/tether-token/webhooks")
    assert listed.json() == [hook]

    duplicate = await client.post(
        "/webhooks", params={"callbackURL": CALLBACK, "idModel": board["id"]}
    )
    assert duplicate.status_code == 400
    assert duplicate.text == "A webhook with that callback, model, and token already exists"
    bad_model = await client.post(
        "/webhooks", params={"callbackURL": CALLBACK, "idModel": "0" * 24}
    )
    assert (bad_model.status_code, bad_model.text) == (400, "invalid value for idModel")
    bad_url = await client.post(
        "/webhooks", params={"callbackURL": "ftp://x", "idModel": board["id"]}
    )
    assert (bad_url.status_code, bad_url.text) == (400, "invalid value for callbackURL")

    deleted = await client.delete(f"/webhooks/{hook['id']}")
    assert deleted.status_code == 200
    assert (await client.get(f"/webhooks/{hook['id']}")).status_code == 404


async def test_concurrent_duplicates_make_one_webhook(
    client: httpx.AsyncClient, emulator: TrelloEmulator, board: dict[str, Any]
) -> None:
    async def slow_head(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # both creations wait on their HEAD check at once
        return httpx.Response(200)

    emulator.dispatcher.transport = httpx.MockTransport(slow_head)
    params = {"callbackURL": CALLBACK, "idModel": board["id"]}
    first, second = await asyncio.gather(
        client.post("/webhooks", params=params), client.post("/webhooks", params=params)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 400]
    assert len((await client.get("/tokens/tether-token/webhooks")).json()) == 1


async def test_signed_delivery_of_a_card_created_through_the_api(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    await register(client, board["id"])
    card = (await client.post("/cards", json={"idList": first_list(board), "name": "New"})).json()
    await settle(control)

    [delivery] = recorder.posts
    assert delivery.url == CALLBACK
    # Verified independently of the emulator's own helper: HMAC-SHA1 over body + callback URL.
    digest = hmac.new(SECRET.encode(), delivery.body + CALLBACK.encode(), hashlib.sha1).digest()
    assert delivery.signature is not None
    assert hmac.compare_digest(delivery.signature, base64.b64encode(digest).decode())
    assert delivery.signature == trello_signature(SECRET, delivery.body, CALLBACK)

    payload = delivery.json()
    action, model = payload["action"], payload["model"]
    assert action["type"] == "createCard"
    assert action["idMemberCreator"] == "5e0000000000000000000001"
    assert action["memberCreator"]["id"] == action["idMemberCreator"]
    assert action["data"]["card"]["id"] == card["id"]
    assert action["data"]["list"] == {"id": first_list(board), "name": "To do"}
    assert action["data"]["board"]["id"] == board["id"]
    assert model["id"] == board["id"]  # the watched model: the board


async def test_person_edit_delivers_old_values_and_list_moves(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    card = (await client.post("/cards", json={"idList": first_list(board), "name": "A"})).json()
    await register(client, card["id"])  # a webhook on the card itself
    done = board["lists"][2]["id"]
    edit = await control.post(
        f"/cards/{card['id']}/edit", json={"name": "B", "idList": done, "due": "2024-07-01"}
    )
    assert edit.status_code == 200
    await settle(control)

    [delivery] = recorder.posts
    action, model = delivery.json()["action"], delivery.json()["model"]
    assert action["type"] == "updateCard"
    assert action["memberCreator"]["username"] == "trello-person"
    data = action["data"]
    assert data["old"] == {"name": "A", "idList": first_list(board), "due": None}
    assert data["card"]["name"] == "B"
    assert data["card"]["idList"] == done
    assert data["listBefore"]["id"] == first_list(board)
    assert data["listAfter"] == {"id": done, "name": "Done"}
    assert "list" not in data
    assert model["id"] == card["id"]  # the watched model: the card, as it is now
    assert model["name"] == "B"

    # An edit that changes nothing records nothing and delivers nothing.
    same = await control.post(f"/cards/{card['id']}/edit", json={"name": "B"})
    assert same.json()["action"] is None
    await settle(control)
    assert len(recorder.posts) == 1


async def test_delivery_is_asynchronous(
    app: FastAPI,
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    emulator: TrelloEmulator,
    board: dict[str, Any],
) -> None:
    release = asyncio.Event()
    received: list[bytes] = []

    async def slow_receiver(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            await release.wait()
            received.append(await request.aread())
        return httpx.Response(200)

    emulator.dispatcher.transport = httpx.MockTransport(slow_receiver)
    await register(client, board["id"])
    # The API call answers while the receiver is still holding the delivery.
    response = await client.post("/cards", params={"idList": first_list(board)})
    assert response.status_code == 200
    assert received == []
    release.set()
    await settle(control)
    assert len(received) == 1


async def test_failed_deliveries_are_retried(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    hook = await register(client, board["id"])
    recorder.answer_next(500, 503, 200)
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert len(recorder.posts) == 3
    assert len({post.body for post in recorder.posts}) == 1  # the same delivery each time
    [log] = (await control.get("/webhooks/deliveries")).json()
    assert (log["status"], log["attempts"]) == ("delivered", [500, 503, 200])

    recorder.answer_next(500, 500, 500, 500)
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert len(recorder.posts) == 3 + 4  # the first attempt and three retries
    last = (await control.get("/webhooks/deliveries")).json()[-1]
    assert last["status"] == "failed"
    state = (await client.get(f"/webhooks/{hook['id']}")).json()
    assert state["consecutiveFailures"] == 1
    assert state["firstConsecutiveFailDate"] is not None


async def test_gone_deletes_the_webhook(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    hook = await register(client, board["id"])
    recorder.answer_next(410)
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert len(recorder.posts) == 1  # no retries after 410
    assert (await client.get(f"/webhooks/{hook['id']}")).status_code == 404
    assert (await client.get("/tokens/tether-token/webhooks")).json() == []
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert len(recorder.posts) == 1


async def test_drop_next_loses_deliveries_but_not_actions(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    await register(client, board["id"])
    assert (await control.post("/webhooks/drop-next", params={"count": 2})).status_code == 200
    for name in ("lost 1", "lost 2", "kept"):
        await client.post("/cards", params={"idList": first_list(board), "name": name})
    await settle(control)
    assert [p.json()["action"]["data"]["card"]["name"] for p in recorder.posts] == ["kept"]
    statuses = [d["status"] for d in (await control.get("/webhooks/deliveries")).json()]
    assert statuses == ["dropped", "dropped", "delivered"]
    # The polling fallback still sees everything.
    actions = await client.get(f"/boards/{board['id']}/actions", params={"filter": "createCard"})
    assert len(actions.json()) == 3


async def test_pause_holds_deliveries_until_resume(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    await register(client, board["id"])
    await control.post("/webhooks/pause")
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert recorder.posts == []
    resumed = await control.post("/webhooks/resume")
    assert resumed.json() == {"paused": False, "released": 1}
    await settle(control)
    assert len(recorder.posts) == 1


async def test_inactive_webhooks_are_silent(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    hook = await register(client, board["id"], active="false")
    assert hook["active"] is False
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert recorder.posts == []
    await client.put(f"/webhooks/{hook['id']}", params={"active": "true"})
    await client.post("/cards", params={"idList": first_list(board)})
    await settle(control)
    assert len(recorder.posts) == 1


async def test_deleting_a_card_deletes_its_webhooks(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    card = (await client.post("/cards", params={"idList": first_list(board)})).json()
    hook = await register(client, card["id"])
    await client.delete(f"/cards/{card['id']}")
    await settle(control)
    [delivery] = recorder.posts
    assert delivery.json()["action"]["type"] == "deleteCard"
    assert delivery.json()["action"]["data"]["card"] == {"id": card["id"], "idShort": 1}
    assert (await client.get(f"/webhooks/{hook['id']}")).status_code == 404


@pytest.mark.parametrize("path", ["/webhooks/{id}", "/tokens/{token}/webhooks"])
async def test_webhooks_belong_to_their_token(
    client: httpx.AsyncClient, control: httpx.AsyncClient, board: dict[str, Any], path: str
) -> None:
    hook = await register(client, board["id"])
    other = (await control.post("/members", json={"username": "other"})).json()["token"]
    url = path.format(id=hook["id"], token="tether-token")
    response = await client.get(url, params={"token": other})
    assert response.status_code == 401
