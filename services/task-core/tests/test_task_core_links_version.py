"""``links_version``: every export and every link news of a task raises it (once), and each
TaskChanged carries it, so a connector's cached links of the task hold only until then."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.links import CONSUMER
from task_core.models import OutboxMessage
from tether_common.db import transaction
from tether_events import CloudEvent, ExportRequested, TaskChanged, Topic, decode, topic_name

TASKS = "/internal/v1/tenants/acme/tasks"
LINK_EVENTS = topic_name(Topic.LINK_EVENTS)
TRELLO = {"provider": "trello", "connection_id": "trello_9f2c", "target": {"list_id": "L1"}}
WaitProcessed = Callable[[str, str], Awaitable[None]]
LinkEvent = Callable[..., CloudEvent[Any]]


async def queued(sessions: async_sessionmaker[AsyncSession]) -> list[Any]:
    """The data of every event task-core committed to its outbox, in commit order."""
    async with transaction(sessions) as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [decode(row.payload.encode()).data for row in rows.all()]


def counts(events: list[Any]) -> list[tuple[str, int | None]]:
    def count(event: Any) -> int | None:
        if isinstance(event, TaskChanged):
            return event.links_version
        assert isinstance(event, ExportRequested)
        return event.task.links_version

    return [(type(event).__name__, count(event)) for event in events]


async def test_exports_and_link_news_raise_the_count_every_later_state_carries(
    api: httpx.AsyncClient,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
    bus: Any,
) -> None:
    created = await api.post(TASKS, json={"title": "Plan"})
    task_id = created.json()["id"]
    assert (await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan B"})).status_code == 200
    exported = await api.post(f"{TASKS}/{task_id}/links", json=TRELLO)
    assert exported.status_code == 202, exported.text
    assert (await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan C"})).status_code == 200
    activated = make_link_event(exported.json(), "active", external_id="card1")
    await bus.publish(LINK_EVENTS, activated)
    await wait_processed(CONSUMER, activated.id)
    assert (await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan D"})).status_code == 200
    gone = make_link_event(exported.json(), "unlinked", external_id="card1")
    await bus.publish(LINK_EVENTS, gone)
    await wait_processed(CONSUMER, gone.id)
    assert (await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan E"})).status_code == 200

    assert counts(await queued(sessions)) == [
        ("TaskChanged", 0),  # created
        ("TaskChanged", 0),  # Plan B: no link yet
        ("ExportRequested", 1),  # the export raised it
        ("TaskChanged", 1),  # Plan C
        ("TaskChanged", 2),  # Plan D, after the activation raised it again
        ("TaskChanged", 3),  # Plan E, after the item went (the unlink raised it, once)
    ]
