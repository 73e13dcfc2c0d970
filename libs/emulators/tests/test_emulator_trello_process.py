"""The standalone sandbox, run as ``python -m tether_emulators.trello`` in its own process.

This is how end-to-end tests and newcomers use it: over real sockets, with webhook deliveries
sent over the network (no injected transport) to a real receiver.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def sandbox_process() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Start the sandbox; yield its base URL and the ``name=value`` lines it printed."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tether_emulators.trello",
        "--port",
        str(port),
        "--retry-delays",
        "0,0,0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        while "list Done" not in printed:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the emulator exited before printing its credentials"
            name, _, value = line.strip().partition("=")
            printed[name] = value
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    await http.get(f"{base}/_emulator")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield base, printed
    finally:
        process.terminate()
        await process.communicate()


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

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        # uvicorn exposes only a flag, no event, for "listening".
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        server.should_exit = True
        await task


async def test_sandbox_over_the_network() -> None:
    async with sandbox_process() as (base, printed), receiver() as (callback, received):
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
