"""The internal task API: each accepted change is one version, one history row and one event
with the task's clock; queries are scoped by tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.models import OutboxMessage, Task, TaskVersion
from tether_common.db import transaction
from tether_events import CloudEvent, TaskChanged, VectorClock

TASKS = "/internal/v1/tenants/acme/tasks"
OTHER_TENANT = "/internal/v1/tenants/globex/tasks"
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
OutboxRows = Callable[[], Awaitable[list[OutboxMessage]]]


async def create(api: httpx.AsyncClient, title: str = "Plan the week", **fields: Any) -> str:
    response = await api.post(TASKS, json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def history(sessions: async_sessionmaker[AsyncSession], task_id: str) -> list[TaskVersion]:
    async with transaction(sessions) as session:
        statement = (
            select(TaskVersion).where(TaskVersion.task_id == task_id).order_by(TaskVersion.version)
        )
        return list((await session.scalars(statement)).all())


async def test_create_returns_version_1_with_a_core_clock(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TASKS, json={"title": "  Plan the week ", "description": "d", "due_date": "2026-12-01"}
    )
    assert response.status_code == 201
    task = response.json()
    assert task["tenant_id"] == "acme"
    assert task["title"] == "Plan the week"
    assert (task["description"], task["due_date"]) == ("d", "2026-12-01")
    assert (task["completed"], task["deleted"]) == (False, False)
    assert (task["version"], task["clock"]) == (1, {"core": 1})
    assert task["created_at"] == task["updated_at"]
    assert (await api.get(f"{TASKS}/{task['id']}")).json() == task


async def test_list_pages_through_live_tasks_oldest_first(api: httpx.AsyncClient) -> None:
    ids = [await create(api, f"task {n}") for n in range(7)]
    await api.post(OTHER_TENANT, json={"title": "another tenant's"})
    assert (await api.delete(f"{TASKS}/{ids[3]}")).status_code == 204

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get(TASKS, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[:3] + ids[4:]
    assert pages == 3
    everything = (await api.get(TASKS, params={"limit": 200})).json()
    assert [item["id"] for item in everything["items"]] == seen
    assert everything["next_cursor"] is None


async def test_list_defaults_to_50_and_accepts_1_to_200(api: httpx.AsyncClient) -> None:
    assert (await api.get(TASKS)).json() == {"items": [], "next_cursor": None}
    for limit in (0, 201):
        response = await api.get(TASKS, params={"limit": limit})
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJhIjoxfQ", "WzEsMl0", "W10"])
async def test_a_cursor_we_did_not_issue_is_a_422_naming_it(
    api: httpx.AsyncClient, cursor: str
) -> None:
    response = await api.get(TASKS, params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["query", "cursor"]


async def test_unknown_deleted_and_other_tenants_tasks_are_not_found(
    api: httpx.AsyncClient,
) -> None:
    mine = await create(api)
    deleted = await create(api, "gone")
    assert (await api.delete(f"{TASKS}/{deleted}")).status_code == 204

    requests = [
        ("GET", f"{TASKS}/no-such-task"),
        ("GET", f"{TASKS}/{deleted}"),
        ("GET", f"{OTHER_TENANT}/{mine}"),
        ("PATCH", f"{OTHER_TENANT}/{mine}"),
        ("PATCH", f"{TASKS}/{deleted}"),
        ("DELETE", f"{OTHER_TENANT}/{mine}"),
        ("DELETE", f"{TASKS}/{deleted}"),
    ]
    for method, url in requests:
        body = {"title": "hijacked"} if method == "PATCH" else None
        response = await api.request(method, url, json=body)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"]["code"] == "task_not_found"
        assert response.json()["error"]["message"]
    # Another tenant's attempts changed nothing.
    assert (await api.get(f"{TASKS}/{mine}")).json()["version"] == 1


@pytest.mark.parametrize(
    ("method", "body", "loc"),
    [
        ("POST", {"title": ""}, ["body", "title"]),
        ("POST", {"description": "no title"}, ["body", "title"]),
        ("POST", {"title": "x", "colour": "red"}, ["body", "colour"]),
        ("POST", {"title": "x", "description": "x" * 32768}, ["body", "description"]),
        ("PATCH", {"due_date": "not a date"}, ["body", "due_date"]),
        ("PATCH", {"completed": "maybe"}, ["body", "completed"]),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(
    api: httpx.AsyncClient, method: str, body: dict[str, Any], loc: list[str]
) -> None:
    url = TASKS if method == "POST" else f"{TASKS}/{await create(api)}"
    response = await api.request(method, url, json=body)
    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["error"]["details"]]


async def test_an_empty_or_null_patch_is_a_422(api: httpx.AsyncClient) -> None:
    task_id = await create(api)
    for body in ({}, {"title": None}):
        response = await api.patch(f"{TASKS}/{task_id}", json=body)
        assert response.status_code == 422, body


async def test_a_malformed_tenant_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/internal/v1/tenants/..%20x/tasks")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["path", "tenant_id"]


async def test_patch_changes_the_given_fields_and_bumps_clock_and_version(
    api: httpx.AsyncClient,
) -> None:
    task_id = await create(api, description="keep me", due_date="2026-12-01")
    response = await api.patch(f"{TASKS}/{task_id}", json={"title": "Renamed", "due_date": None})
    assert response.status_code == 200
    task = response.json()
    assert (task["title"], task["description"], task["due_date"]) == ("Renamed", "keep me", None)
    assert (task["version"], task["clock"]) == (2, {"core": 2})
    assert task["updated_at"] > task["created_at"]

    task = (await api.patch(f"{TASKS}/{task_id}", json={"completed": True})).json()
    assert (task["completed"], task["version"], task["clock"]) == (True, 3, {"core": 3})
    assert (await api.get(f"{TASKS}/{task_id}")).json() == task


async def test_a_patch_that_changes_nothing_makes_no_version_and_no_event(
    api: httpx.AsyncClient, wait_for_events: WaitForEvents, outbox_rows: OutboxRows
) -> None:
    task_id = await create(api, "Same", completed=False)
    response = await api.patch(f"{TASKS}/{task_id}", json={"title": "Same", "completed": False})
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["clock"]) == (1, {"core": 1})

    # A real change afterwards: the event after the first must be this one, version 2.
    await api.patch(f"{TASKS}/{task_id}", json={"completed": True})
    events = await wait_for_events(2)
    assert [e.data.version for e in events] == [1, 2]
    assert events[1].data.changed_fields == ["completed"]
    assert len(await outbox_rows()) == 2


async def test_delete_is_soft_with_a_new_version_and_event(
    api: httpx.AsyncClient,
    wait_for_events: WaitForEvents,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task_id = await create(api)
    response = await api.delete(f"{TASKS}/{task_id}")
    assert response.status_code == 204
    assert response.content == b""

    events = await wait_for_events(2)
    deleted = events[1].data
    assert isinstance(deleted, TaskChanged)
    assert (deleted.deleted, deleted.version, deleted.clock) == (True, 2, VectorClock({"core": 2}))
    assert deleted.changed_fields == ["deleted"]
    assert deleted.title == "Plan the week"  # the whole task travels, not only the flag
    async with transaction(sessions) as session:
        row = await session.get(Task, task_id)
    assert row is not None
    assert (row.deleted, row.version) == (True, 2)


async def test_every_change_is_a_history_row(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task_id = await create(api, due_date="2026-12-01")
    await api.patch(f"{TASKS}/{task_id}", json={"description": "more", "title": "Plan"})
    await api.patch(f"{TASKS}/{task_id}", json={"completed": True})
    await api.delete(f"{TASKS}/{task_id}")

    rows = await history(sessions, task_id)
    assert [r.version for r in rows] == [1, 2, 3, 4]
    assert [r.clock for r in rows] == [{"core": n} for n in (1, 2, 3, 4)]
    assert {r.origin for r in rows} == {"core"}
    assert {r.tenant_id for r in rows} == {"acme"}
    assert [r.changed_fields for r in rows] == [
        ["title", "description", "due_date", "due_at", "completed"],
        ["title", "description"],
        ["completed"],
        ["deleted"],
    ]
    assert rows[0].fields == {
        "title": "Plan the week",
        "description": "",
        "due_date": "2026-12-01",
        "due_at": None,
        "completed": False,
        "deleted": False,
    }
    assert rows[-1].fields == {
        "title": "Plan",
        "description": "more",
        "due_date": "2026-12-01",
        "due_at": None,
        "completed": True,
        "deleted": True,
    }


async def test_each_change_publishes_one_event_with_its_clock(
    api: httpx.AsyncClient, wait_for_events: WaitForEvents, outbox_rows: OutboxRows
) -> None:
    # The relay polls only every 60 s here: these events leave because each commit woke it.
    task_id = await create(api, due_date="2026-12-01")
    await api.patch(f"{TASKS}/{task_id}", json={"title": "Renamed"})
    await api.patch(f"{TASKS}/{task_id}", json={"completed": True})
    await api.delete(f"{TASKS}/{task_id}")

    events = await wait_for_events(4)
    assert len(events) == 4
    assert {e.type for e in events} == {"tether.task.changed.v1"}
    assert {(e.subject, e.tenantid, e.source) for e in events} == {
        (task_id, "acme", "/tether/task-core")
    }
    assert len({e.id for e in events}) == 4
    data = [e.data for e in events]
    assert all(isinstance(d, TaskChanged) for d in data)
    assert [d.clock for d in data] == [VectorClock({"core": n}) for n in (1, 2, 3, 4)]
    assert [d.version for d in data] == [1, 2, 3, 4]
    assert [(d.title, d.completed, d.deleted) for d in data] == [
        ("Plan the week", False, False),
        ("Renamed", False, False),
        ("Renamed", True, False),
        ("Renamed", True, True),
    ]
    assert {(d.task_id, d.tenant_id, d.origin) for d in data} == {(task_id, "acme", "core")}
    assert str(data[0].due_date) == "2026-12-01"

    rows = await outbox_rows()
    assert [r.event_id for r in rows] == [e.id for e in events]
    assert all(r.published_at is not None for r in rows)
    assert {r.key for r in rows} == {task_id}


async def test_concurrent_patches_of_one_task_each_get_their_own_version(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task_id = await create(api)
    responses = await asyncio.gather(
        *(api.patch(f"{TASKS}/{task_id}", json={"title": f"title {n}"}) for n in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 12))
    final = (await api.get(f"{TASKS}/{task_id}")).json()
    assert (final["version"], final["clock"]) == (11, {"core": 11})
    assert [r.version for r in await history(sessions, task_id)] == list(range(1, 12))
