"""Choosing a conflict's other value from the dashboard: a new core edit, and only of the
session's tenant."""

from __future__ import annotations

import httpx

from .browsing import csrf_of
from .fakes import FakeTaskCore


async def test_choosing_the_other_value_makes_a_core_edit(
    client: httpx.AsyncClient, world: dict[str, str], fake_task_core: FakeTaskCore
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/conflicts/conflict-acme/choose",
        data={"csrf": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/dashboard/tasks/{task_id}?notice=")
    task = fake_task_core.tasks[world["acme_id"]][task_id]
    assert task.title == "acme core title"
    assert task.version == 2
    after = await client.get(answer.headers["location"])
    assert "the task holds this value now" in after.text
    overview = await client.get("/dashboard")
    assert "the task holds this value now" in overview.text
    assert "Choose “acme core title”" not in overview.text
    assert "a new core edit" in after.text


async def test_another_tenants_conflict_cannot_be_chosen(
    client: httpx.AsyncClient, world: dict[str, str], fake_task_core: FakeTaskCore
) -> None:
    page = await client.get("/dashboard")
    answer = await client.post(
        f"/dashboard/tasks/{world['globex_task']}/conflicts/conflict-globex/choose",
        data={"csrf": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert "problem=" in answer.headers["location"]
    assert not [r for r in fake_task_core.requests if r.method == "PATCH"]
