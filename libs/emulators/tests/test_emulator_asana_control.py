"""The control API: withheld answers, outages, the request log, person-created tasks, reset."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tether_emulators.asana import create_asana_emulator, get_emulator


async def test_a_held_create_is_performed_but_not_answered(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    armed = await asana_control.post("/holds", json={"method": "POST", "path": "/api/1.0/tasks"})
    assert armed.status_code == 200
    pending = asyncio.create_task(
        asana.post("/tasks", json={"data": {"name": "Held", "projects": [project["gid"]]}})
    )
    # Polls a state, not a clock: the request runs in this loop and is held once performed.
    while (await asana_control.get("/holds")).json()["waiting"] == 0:  # noqa: ASYNC110
        await asyncio.sleep(0)
    # Asana has the task, the client has not heard of it.
    [there] = (await asana_control.get(f"/projects/{project['gid']}/tasks")).json()
    assert there["name"] == "Held"
    assert not pending.done()
    assert (await asana_control.post("/holds/release")).json() == {"released": 1}
    answer = await pending
    assert (answer.status_code, answer.json()["data"]["gid"]) == (201, there["gid"])


async def test_outage_of_one_project(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    other = (await asana_control.post("/projects", json={"name": "Other"})).json()
    started = await asana_control.post("/outages", json={"project_gid": project["gid"]})
    assert started.json() == {"project_gid": project["gid"], "status": 500}
    failing = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    assert failing.status_code == 500
    [error] = failing.json()["errors"]
    assert error["message"] == "Server Error"
    assert error["phrase"]
    fine = await asana.post("/tasks", json={"data": {"projects": [other["gid"]]}})
    assert fine.status_code == 201
    assert (await asana_control.get(f"/projects/{project['gid']}/tasks")).json() == []
    await asana_control.delete("/outages")
    assert (await asana.get(f"/projects/{project['gid']}/sections")).status_code == 200


async def test_request_log_counts_the_clients_calls_only(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    await asana_control.post("/tasks", json={"projects": [project["gid"]], "name": "By a person"})
    await asana.get("/users/me")
    await asana.get("/tasks/0")
    log = (await asana_control.get("/requests")).json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/api/1.0/users/me", 200),
        ("GET", "/api/1.0/tasks/0", 404),
    ]


async def test_reset_returns_to_the_start(
    asana: httpx.AsyncClient, asana_control: httpx.AsyncClient, project: dict[str, Any]
) -> None:
    await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    assert (await asana_control.post("/reset")).json() == {"reset": True}
    overview = (await asana_control.get("")).json()
    assert overview["projects"] == []
    assert (await asana.get("/users/me")).status_code == 200  # configured tokens survive


async def test_a_restarted_sandbox_keeps_its_seeded_gids_and_never_reuses_a_task_gid() -> None:
    # Two runs of the sandbox, one second apart: a client still linked to the first run's
    # task must not find a different task of the second run under its gid.
    start = datetime(2026, 5, 1, tzinfo=UTC)
    runs = [
        create_asana_emulator(sandbox=True, wall_clock=_stopped_at(at))
        for at in (start, start + timedelta(seconds=1))
    ]
    seeded = [get_emulator(app).sandbox_info for app in runs]
    assert seeded[0] is not None
    assert seeded[0] == seeded[1]
    made: list[str] = []
    for app in runs:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://asana.test") as client:
            answer = await client.post(
                "/_emulator/tasks", json={"name": "Try", "projects": [seeded[0].project_gid]}
            )
        assert answer.status_code == 200, answer.text
        made.append(answer.json()["gid"])
    assert made[0] != made[1]
    # Still shaped like Asana's gids: 16 digits.
    assert all(gid.isdigit() and len(gid) == 16 for gid in made), made


def _stopped_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
