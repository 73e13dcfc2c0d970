"""The probes that PostgreSQL itself would turn into 5xx (NUL in text, a version beyond its
INTEGER, a time beyond its range) are 4xx there too: refused before any query."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from task_core.config import TaskCoreSettings

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
CONFLICTS = "/internal/v1/tenants/acme/conflicts"
JSON = {"content-type": "application/json"}
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def settings(database_url: str) -> TaskCoreSettings:
    # Overrides conftest's SQLite settings: every fixture built on it now uses PostgreSQL.
    return TaskCoreSettings(database_url=database_url, bus="inprocess", relay_interval=60.0)


def cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_what_postgresql_cannot_hold_is_refused_before_any_query(
    start_task_core: StartTaskCore,
) -> None:
    async with start_task_core() as api:
        created = await api.post(TASKS, json={"title": "Plan"})
        task = created.json()["id"]
        answers = {
            "nul-in-a-title": await api.post(TASKS, content='{"title": "a\\u0000b"}', headers=JSON),
            "nul-in-a-patch": await api.patch(
                f"{TASKS}/{task}", content='{"description": "\\u0000"}', headers=JSON
            ),
            "nul-in-a-task-id": await api.get(f"{TASKS}/a%00b"),
            "nul-in-a-filter": await api.get(CONFLICTS, params={"task_id": "a\x00b"}),
            "nul-in-a-cursor": await api.get(
                TASKS, params={"cursor": cursor(["2026-01-01T00:00:00+00:00", "a\x00b"])}
            ),
            "year-10000-cursor": await api.get(
                CONFLICTS, params={"cursor": cursor(["9999-12-31T23:00:00-02:00", task])}
            ),
            "version-2^31": await api.get(
                f"{TASKS}/{task}/history", params={"cursor": cursor({"v": 2**31})}
            ),
        }
        listed = (await api.get(TASKS)).json()["items"]

    assert created.status_code == 201, created.text
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 422)
    assert all(r.json()["error"]["code"] == "invalid_input" for r in answers.values())
    assert [(t["title"], t["description"]) for t in listed] == [("Plan", "")]
