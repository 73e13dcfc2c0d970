"""The longest values core accepts fit its PostgreSQL columns (SQLite ignores a VARCHAR's
length, so only PostgreSQL can show a column too narrow for them)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from task_core.config import TaskCoreSettings
from tether_contracts.tasks import DESCRIPTION_MAX, TITLE_MAX

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def settings(database_url: str) -> TaskCoreSettings:
    # Overrides conftest's SQLite settings: every fixture built on it now uses PostgreSQL.
    return TaskCoreSettings(database_url=database_url, bus="inprocess", relay_interval=60.0)


async def test_a_task_at_the_maxima_is_stored_and_read_back_whole(
    start_task_core: StartTaskCore,
) -> None:
    longest = {"title": "t" * TITLE_MAX, "description": "\N{ROCKET}" * DESCRIPTION_MAX}
    async with start_task_core() as api:
        created = await api.post(TASKS, json={"title": "Plan"})
        task_id = created.json()["id"]
        patched = await api.patch(f"{TASKS}/{task_id}", json=longest)
        read = await api.get(f"{TASKS}/{task_id}")

    assert patched.status_code == 200, patched.text
    assert {k: read.json()[k] for k in longest} == longest
