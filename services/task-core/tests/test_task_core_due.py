"""A task is due on a date (due_date) or at an instant (due_at), never both: the API refuses
both, setting one clears the other, instants round-trip in UTC, a provider's instant replaces
a date whole, and rows written before due_at existed still read and change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.models import Task
from tether_common.db import transaction
from tether_events import CloudEvent, TaskChanged, Topic, topic_name
from tether_events.inprocess import InProcessBus

TASKS = "/internal/v1/tenants/acme/tasks"
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
ProviderEvent = Callable[..., CloudEvent[Any]]


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post(TASKS, json={"title": "Plan", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_both_dues_at_once_is_a_422_naming_both_fields(
    api: httpx.AsyncClient, method: str
) -> None:
    url = TASKS if method == "POST" else f"{TASKS}/{(await create(api))['id']}"
    body = {"title": "x", "due_date": "2026-12-01", "due_at": "2026-12-02T01:00:00Z"}
    response = await api.request(method, url, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    [detail] = error["details"]
    assert detail["loc"] == ["body", "due_at"]
    assert "due_date" in detail["message"]
    assert "due_at" in detail["message"]


async def test_an_instant_due_round_trips_in_utc_and_each_kind_clears_the_other(
    api: httpx.AsyncClient, wait_for_events: WaitForEvents
) -> None:
    # Dec 1, 5:00 PM in Los Angeles, sent with its offset and sub-millisecond digits.
    task = await create(api, due_at="2026-12-01T17:00:00.123456-08:00")
    assert (task["due_date"], task["due_at"]) == (None, "2026-12-02T01:00:00.123000Z")
    assert (await api.get(f"{TASKS}/{task['id']}")).json()["due_at"] == task["due_at"]

    as_date = await api.patch(f"{TASKS}/{task['id']}", json={"due_date": "2026-12-01"})
    assert (as_date.json()["due_date"], as_date.json()["due_at"]) == ("2026-12-01", None)
    as_instant = await api.patch(f"{TASKS}/{task['id']}", json={"due_at": "2026-12-02T01:00:00Z"})
    assert (as_instant.json()["due_date"], as_instant.json()["due_at"]) == (
        None,
        "2026-12-02T01:00:00Z",
    )
    # One set and the other null says the same thing, unambiguously.
    both = await api.patch(
        f"{TASKS}/{task['id']}", json={"due_date": None, "due_at": "2026-12-03T01:00:00Z"}
    )
    assert both.json()["due_at"] == "2026-12-03T01:00:00Z"
    cleared = await api.patch(f"{TASKS}/{task['id']}", json={"due_at": None})
    assert (cleared.json()["due_date"], cleared.json()["due_at"]) == (None, None)

    events = [e.data for e in await wait_for_events(5)]
    assert all(isinstance(e, TaskChanged) for e in events)
    assert [e.changed_fields for e in events[1:]] == [
        ["due_date", "due_at"],
        ["due_date", "due_at"],
        ["due_at"],
        ["due_at"],
    ]
    assert events[2].due_at == datetime(2026, 12, 2, 1, tzinfo=UTC)
    assert events[2].due_date is None
    history = (await api.get(f"{TASKS}/{task['id']}/history")).json()["items"]
    assert history[2]["fields"]["due_at"] == "2026-12-02T01:00:00Z"
    assert history[2]["fields"]["due_date"] is None


async def test_a_provider_instant_replaces_a_date_whole(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
) -> None:
    task = await create(api, due_date="2026-12-01")
    change = make_provider_event(
        task["id"], base={"due": "2026-12-01"}, new={"due": "2026-12-02T01:00:00.000Z"}
    )
    await bus.publish(topic_name(Topic.PROVIDER_CHANGED), change)
    merged = (await wait_for_events(2))[1].data
    assert isinstance(merged, TaskChanged)
    assert (merged.due_date, merged.due_at) == (None, datetime(2026, 12, 2, 1, tzinfo=UTC))
    assert merged.changed_fields == ["due_date", "due_at"]


async def test_a_row_from_before_due_at_still_reads_and_changes(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task = await create(api, due_date="2026-12-01")
    # As migration 0006 left an older row: no due_at, stamps keyed by the old name.
    async with transaction(sessions) as session:
        row = await session.get(Task, task["id"])
        assert row is not None
        stamps = dict(row.stamps)
        stamps["due_date"] = stamps.pop("due")
        row.stamps = stamps
        row.due_at = None
    read = (await api.get(f"{TASKS}/{task['id']}")).json()
    assert (read["due_date"], read["due_at"]) == ("2026-12-01", None)
    renamed = await api.patch(f"{TASKS}/{task['id']}", json={"title": "Plan B"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["due_date"]) == ("Plan B", "2026-12-01")
    async with transaction(sessions) as session:
        row = await session.get(Task, task["id"])
        assert row is not None
        assert set(row.stamps) == {"title", "description", "due", "completed"}
