"""The standalone sandbox, ``python -m tether_emulators.asana``, over real sockets: a webhook
handshake answered by a real receiver while the create call is open, and a signed delivery."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

from tether_emulators.common.testing import sandbox_process, served

ASANA = "tether_emulators.asana"


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

    async with served(app) as base:
        yield f"{base}/hook", received, secrets_seen


async def test_sandbox_over_the_network() -> None:
    sandbox = sandbox_process(ASANA, "--retry-delays", "0,0,0", last_line="section Done")
    async with sandbox as (base, printed), receiver() as (target, received, seen):
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
