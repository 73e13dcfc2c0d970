"""The events API: 412 with a sync token first, 100 events a page with ``has_more``, and a
412 again when the token expires (after 24 hours, or earlier when Asana says so)."""

from __future__ import annotations

from typing import Any

import httpx

from tether_emulators.asana.testing import ManualClock


async def first_sync(asana: httpx.AsyncClient, resource: str) -> str:
    response = await asana.get("/events", params={"resource": resource})
    assert response.status_code == 412
    body = response.json()
    assert body["errors"][0]["message"].startswith("Sync token invalid or too old.")
    return str(body["sync"])


async def test_stream_of_a_project(asana: httpx.AsyncClient, project: dict[str, Any]) -> None:
    sync = await first_sync(asana, project["gid"])
    created = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    task = created.json()["data"]["gid"]
    await asana.put(f"/tasks/{task}", json={"data": {"notes": "Described"}})
    page = (await asana.get("/events", params={"resource": project["gid"], "sync": sync})).json()
    assert page["has_more"] is False
    actions = [(e["action"], e["resource"]["gid"], e.get("change")) for e in page["data"]]
    assert actions == [
        ("added", task, None),
        ("added", task, None),
        ("changed", task, {"field": "notes", "action": "changed"}),
    ]
    assert page["data"][0]["parent"]["resource_type"] == "project"
    assert page["data"][0]["type"] == "task"
    again = await asana.get("/events", params={"resource": project["gid"], "sync": page["sync"]})
    assert again.json()["data"] == []


async def test_pages_of_one_hundred(asana: httpx.AsyncClient, project: dict[str, Any]) -> None:
    created = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    task = created.json()["data"]["gid"]
    sync = await first_sync(asana, task)  # a task's own stream
    for index in range(101):
        await asana.put(f"/tasks/{task}", json={"data": {"name": f"v{index}"}})
    first = (await asana.get("/events", params={"resource": task, "sync": sync})).json()
    assert (len(first["data"]), first["has_more"]) == (100, True)
    rest = (await asana.get("/events", params={"resource": task, "sync": first["sync"]})).json()
    assert (len(rest["data"]), rest["has_more"]) == (1, False)


async def test_tokens_expire_after_a_day_or_when_asana_says(
    asana: httpx.AsyncClient,
    asana_control: httpx.AsyncClient,
    project: dict[str, Any],
    clock: ManualClock,
) -> None:
    sync = await first_sync(asana, project["gid"])
    clock.advance(24 * 3600)
    expired = await asana.get("/events", params={"resource": project["gid"], "sync": sync})
    assert expired.status_code == 412
    fresh = expired.json()["sync"]
    assert (await asana_control.post("/events/expire-sync-tokens")).json() == {"expired": 2}
    gone = await asana.get("/events", params={"resource": project["gid"], "sync": fresh})
    assert gone.status_code == 412
    other = await asana.get("/events", params={"resource": "999", "sync": gone.json()["sync"]})
    assert other.status_code == 404
