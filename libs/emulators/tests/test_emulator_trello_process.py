"""The standalone sandbox, run as ``python -m tether_emulators.trello`` in its own process.

This is how end-to-end tests and newcomers use it: over real sockets, with webhook deliveries
sent over the network (no injected transport) to a real receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

from tether_emulators.common.testing import sandbox_process, served

TRELLO = "tether_emulators.trello"


@asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[tuple[bytes, str]]]]:
    """A webhook receiver on a real port: answers HEAD 200 and records POSTs."""
    received: list[tuple[bytes, str]] = []
    app = FastAPI()

    @app.api_route("/hook", methods=["HEAD", "POST"])
    async def hook(request: Request) -> Response:
        if request.method == "POST":
            received.append((await request.body(), request.headers["x-trello-webhook"]))
        return Response(status_code=200)

    async with served(app) as base:
        yield f"{base}/hook", received


async def test_sandbox_over_the_network() -> None:
    sandbox = sandbox_process(TRELLO, "--retry-delays", "0,0,0", last_line="list Done")
    async with sandbox as (base, printed), receiver() as (callback, received):
        credentials = {"key": printed["key"], "token": printed["token"]}
        async with httpx.AsyncClient(base_url=f"{base}/1", params=credentials) as trello:
            me = await trello.get("/members/me")
            assert me.json()["username"] == "sandbox"
            [board] = (await trello.get("/members/me/boards")).json()
            assert (board["name"], board["id"]) == ("Sandbox", printed["board Sandbox"])
            lists = (await trello.get(f"/boards/{board['id']}/lists")).json()
            assert [item["name"] for item in lists] == ["To do", "Doing", "Done"]

            hook = await trello.post(
                "/webhooks", params={"callbackURL": callback, "idModel": board["id"]}
            )
            assert hook.status_code == 200, hook.text
            card = await trello.post("/cards", params={"idList": printed["list To do"]})
            assert card.status_code == 200
        async with httpx.AsyncClient(base_url=f"{base}/_emulator") as control:
            await control.post("/webhooks/flush")

        [(body, signature)] = received
        digest = hmac.new(
            printed["secret"].encode(), body + callback.encode(), hashlib.sha1
        ).digest()
        assert signature == base64.b64encode(digest).decode()
