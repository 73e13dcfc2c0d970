"""A task's history and the tenant's conflicts over the internal API: newest first, in pages,
scoped by tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.models import ConflictRecord, new_id
from tether_common.db import transaction

TASKS = "/internal/v1/tenants/acme/tasks"
CONFLICTS = "/internal/v1/tenants/acme/conflicts"


async def create(api: httpx.AsyncClient) -> str:
    response = await api.post(TASKS, json={"title": "v1", "due_date": "2026-12-01"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def pages(api: httpx.AsyncClient, url: str, **params: Any) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await api.get(url, params=query)
        assert response.status_code == 200, response.text
        found.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def test_history_is_newest_first_in_pages(api: httpx.AsyncClient) -> None:
    task_id = await create(api)
    for n in range(2, 6):
        await api.patch(f"{TASKS}/{task_id}", json={"title": f"v{n}"})

    found = await pages(api, f"{TASKS}/{task_id}/history", limit=2)

    assert [[e["version"] for e in page] for page in found] == [[5, 4], [3, 2], [1]]
    newest = found[0][0]
    assert (newest["origin"], newest["changed_fields"]) == ("core", ["title"])
    assert newest["clock"] == {"core": 5}
    assert newest["fields"] == {
        "title": "v5",
        "description": "",
        "due_date": "2026-12-01",
        "due_at": None,
        "completed": False,
        "deleted": False,
    }
    assert newest["recorded_at"] == (await api.get(f"{TASKS}/{task_id}")).json()["updated_at"]


async def test_a_deleted_tasks_history_stays_readable(api: httpx.AsyncClient) -> None:
    task_id = await create(api)
    await api.delete(f"{TASKS}/{task_id}")
    history = (await api.get(f"{TASKS}/{task_id}/history")).json()
    newest = history["items"][0]
    assert (newest["version"], newest["changed_fields"]) == (2, ["deleted"])
    assert history["items"][0]["fields"]["deleted"] is True


async def test_history_of_unknown_or_another_tenants_task_is_404(api: httpx.AsyncClient) -> None:
    task_id = await create(api)
    for url in (
        f"{TASKS}/no-such-task/history",
        f"/internal/v1/tenants/globex/tasks/{task_id}/history",
    ):
        response = await api.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "task_not_found"


@pytest.mark.parametrize("url", [f"{TASKS}/x/history", CONFLICTS])
@pytest.mark.parametrize("cursor", ["garbage", "eyJ2IjowfQ", "WzEsMl0", "eyJ2IjoiMSJ9"])
async def test_a_cursor_we_did_not_issue_is_a_422(
    api: httpx.AsyncClient, url: str, cursor: str
) -> None:
    response = await api.get(url, params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["query", "cursor"]


async def add_conflicts(
    sessions: async_sessionmaker[AsyncSession], rows: list[tuple[str, str, int]]
) -> list[str]:
    """(tenant, task, minutes after a fixed time) -> conflict ids, in that order."""
    base = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    ids = []
    async with transaction(sessions) as session:
        for tenant, task, minutes in rows:
            record = ConflictRecord(
                id=new_id(),
                tenant_id=tenant,
                task_id=task,
                field="due_date",
                base_value=None,
                core_value="2026-12-01",
                provider_value="2026-12-02",
                core_replica="core",
                provider_replica="asana:g1",
                winner="asana:g1",
                winning_value="2026-12-02",
                policy="latest_wins",
                resolved_at=base + timedelta(minutes=minutes),
            )
            session.add(record)
            ids.append(record.id)
    return ids


async def test_conflicts_are_newest_first_in_pages_by_tenant_and_task(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await add_conflicts(
        sessions,
        # The last one at the same instant as the third: the id orders them.
        [
            ("acme", "t1", 1),
            ("acme", "t2", 2),
            ("acme", "t1", 3),
            ("globex", "t1", 4),
            ("acme", "t1", 3),
        ],
    )
    everything = [c for page in await pages(api, CONFLICTS, limit=2) for c in page]
    tied = sorted([ids[2], ids[4]], reverse=True)
    assert [c["id"] for c in everything] == [*tied, ids[1], ids[0]]
    first = everything[-1]
    # Recorded under the due's old name: read as the one synced field it is now.
    assert (first["task_id"], first["field"], first["base_value"]) == ("t1", "due", None)
    assert (first["core_value"], first["provider_value"], first["winning_value"]) == (
        "2026-12-01",
        "2026-12-02",
        "2026-12-02",
    )
    assert (first["winner"], first["policy"]) == ("asana:g1", "latest_wins")

    t1 = await pages(api, CONFLICTS, task_id="t1", limit=1)
    assert [c["id"] for page in t1 for c in page] == [*tied, ids[0]]
    globex = (await api.get("/internal/v1/tenants/globex/conflicts")).json()["items"]
    assert [c["id"] for c in globex] == [ids[3]]
