"""Rate limits per token: a per-minute quota whose refusals still count, and caps on requests
in flight (50 reads, 15 writes); 429 with ``Retry-After``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tether_emulators.asana import AsanaEmulator
from tether_emulators.asana.testing import ManualClock


@pytest.mark.parametrize("asana_kwargs", [{"per_minute": 3}])
async def test_quota_refusals_count_and_say_when_to_retry(
    asana: httpx.AsyncClient, clock: ManualClock
) -> None:
    for _ in range(3):
        assert (await asana.get("/users/me")).status_code == 200
        clock.advance(10)
    refused = await asana.get("/users/me")  # at 30 s: the first request counts until 60 s
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert refused.json()["errors"][0]["message"].startswith("You've made too many requests")
    clock.advance(30)  # the first request leaves the window, but the refusal took its place
    assert (await asana.get("/users/me")).status_code == 429
    clock.advance(60)
    assert (await asana.get("/users/me")).status_code == 200


async def test_paid_and_free_quotas_are_configurable(asana_control: httpx.AsyncClient) -> None:
    changed = await asana_control.post("/rate-limits", json={"per_minute": 1500})
    assert changed.json()["per_minute"] == 1500
    assert changed.json()["max_concurrent_writes"] == 15
    assert changed.json()["max_concurrent_reads"] == 50


@pytest.mark.parametrize("asana_kwargs", [{"max_concurrent_writes": 1}])
async def test_writes_in_flight_are_capped(
    asana: httpx.AsyncClient, asana_emulator: AsanaEmulator, project: dict[str, Any]
) -> None:
    """A webhook creation stays in flight until its target answers the handshake."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_target(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        secret = request.headers["x-hook-secret"]
        return httpx.Response(200, headers={"X-Hook-Secret": secret})

    asana_emulator.dispatcher.transport = httpx.MockTransport(slow_target)
    data = {"resource": project["gid"], "target": "https://tether.test/hook"}
    creating = asyncio.create_task(asana.post("/webhooks", json={"data": data}))
    await entered.wait()
    second = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert (await asana.get("/users/me")).status_code == 200  # reads have their own cap
    release.set()
    assert (await creating).status_code == 201
    third = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    assert third.status_code == 201
