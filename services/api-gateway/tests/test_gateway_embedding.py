"""The gateway works however it is hosted: a host may enter its lifespan itself and route to
an in-process task-core, as the embedded mode does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from api_gateway import GatewaySettings, create_app

IssueToken = Callable[[str, str], Awaitable[str]]


def in_process_task_core() -> FastAPI:
    task_core = FastAPI()

    @task_core.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @task_core.get("/internal/v1/tenants/{tenant_id}/tasks")
    async def list_tasks(tenant_id: str, limit: int) -> dict[str, object]:
        return {"items": [], "next_cursor": None}

    return task_core


async def test_a_host_that_enters_the_lifespan_itself(
    settings: GatewaySettings, issue_token: IssueToken
) -> None:
    gateway = create_app(
        settings, task_core_transport=httpx.ASGITransport(app=in_process_task_core())
    )
    token = await issue_token("acme", "ann@acme.test")

    async with (
        gateway.router.lifespan_context(gateway),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway), base_url="http://tether.test"
        ) as client,
    ):
        listed = await client.get("/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        ready = await client.get("/readyz")

    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [], "next_cursor": None}
    assert ready.status_code == 200
