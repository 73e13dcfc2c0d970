"""The standalone sandbox, ``python -m tether_emulators.asana``, over real sockets: a webhook
handshake answered by a real receiver while the create call is open, and a signed delivery."""

from __future__ import annotations

import asyncio
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
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tether_emulators.asana", "--port", str(port),
        "--retry-delays", "0,0,0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        while "section Done" not in printed:
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
                    await asyncio.sleep(0.05)  # waiting for the port to open, not ordering
        yield base, printed
    finally:
        process.terminate()
        await process.communicate()


@asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[tuple[bytes, str]], list[str]]]:
    """Answers the handshake by echoing the secret; records signed deliveries."""
    received: list[tuple[bytes, str]] = []
    secrets_seen: list[str] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        secret = request.headers.get("x-hook-secret")
        if secret is not None:
            secrets_seen.append(secret)
            return Response(status_code=200, headers={"X-Hook-Secret": secret})
        received.append((await request.body(), request.headers["x-hook-signature"]))
        return Response(status_code=200)

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/hook", received, secrets_seen
    finally:
        server.should_exit = True
        await task


async def test_sandbox_over_the_network() -> None:
    async with sandbox_process() as (base, printed), receiver() as (target, received, seen):
        headers = {"Authorization": f"Bearer {printed['token']}"}
        async with httpx.AsyncClient(base_url=f"{base}/api/1.0", headers=headers) as asana:
            me = (await asana.get("/users/me")).json()["data"]
            assert me["name"] == "Sandbox User"
            project = printed["project Sandbox"]
            sections = (await asana.get(f"/projects/{project}/sections")).json()["data"]
            assert [s["name"] for s in sections] == ["To do", "Doing", "Done"]
            hook = await asana.post(
                "/webhooks", json={"data": {"resource": project, "target": target}}
            )
            assert hook.status_code == 201, hook.text
            secret = hook.json()["X-Hook-Secret"]
            assert seen == [secret]
            task = await asana.post("/tasks", json={"data": {"projects": [project]}})
            assert task.status_code == 201
        async with httpx.AsyncClient(base_url=f"{base}/_emulator") as control:
            await control.post("/webhooks/flush")
        assert len(received) == 2  # the heartbeat, then the task's events
        for body, signature in received:
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signature, expected)
