"""Link status and the resend on activation on a real PostgreSQL server: the retry time
round-trips as an aware timestamp, and the resend commits with the link's new state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from task_core.config import TaskCoreSettings
from task_core.links import CONSUMER
from tether_events import CloudEvent, Topic, VectorClock, topic_name
from tether_events.inprocess import InProcessBus

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
LINK_EVENTS = topic_name(Topic.LINK_EVENTS)
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
WaitProcessed = Callable[[str, str], Awaitable[None]]
LinkEvent = Callable[..., CloudEvent[Any]]


@pytest.fixture
def settings(database_url: str) -> TaskCoreSettings:
    # Overrides conftest's SQLite settings: every fixture built on it now uses PostgreSQL.
    return TaskCoreSettings(database_url=database_url, bus="inprocess", relay_interval=60.0)


async def test_retrying_then_active_behind_the_task_on_postgresql(
    start_task_core: StartTaskCore,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    next_try = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    async with start_task_core() as api:
        task = (await api.post(TASKS, json={"title": "Plan"})).json()
        body = {"provider": "trello", "connection_id": "trello_1", "target": {"list_id": "L"}}
        link = (await api.post(f"{TASKS}/{task['id']}/links", json=body)).json()
        await api.patch(f"{TASKS}/{task['id']}", json={"title": "Plan B"})

        retrying = make_link_event(link, "retrying", error="Trello: 503", next_attempt_at=next_try)
        await bus.publish(LINK_EVENTS, retrying)
        await wait_processed(CONSUMER, retrying.id)
        [stored] = (await api.get(f"{TASKS}/{task['id']}/links")).json()
        assert (stored["status"], stored["error"]) == ("retrying", "Trello: 503")
        assert datetime.fromisoformat(stored["next_attempt_at"]) == next_try

        active = make_link_event(link, "active", external_id="c1", synced_clock={"core": 1})
        await bus.publish(LINK_EVENTS, active)
        await wait_processed(CONSUMER, active.id)
        [stored] = (await api.get(f"{TASKS}/{task['id']}/links")).json()
        assert (stored["status"], stored["error"], stored["next_attempt_at"]) == (
            "active",
            None,
            None,
        )
        created, renamed, resent = await wait_for_events(3)
        assert (created.data.version, renamed.data.title) == (1, "Plan B")
        # The renamed state again; only the count of the task's link changes is past it
        # (each link news since raised it: connectors' cached links no longer hold).
        assert resent.data == renamed.data.model_copy(
            update={"links_version": resent.data.links_version}
        )
        assert resent.data.links_version > renamed.data.links_version
        assert resent.data.clock == VectorClock({"core": 2})
        assert resent.id != renamed.id
        assert (await api.get(f"{TASKS}/{task['id']}")).json()["version"] == 2
