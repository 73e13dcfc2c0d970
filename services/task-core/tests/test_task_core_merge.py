"""Provider changes consumed from the bus and merged by the sync engine: the merged task is
published with the merged clock, conflicts are recorded, duplicates ignored, changes that are
not ready retried, and nothing bad blocks the partition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.config import TaskCoreSettings
from task_core.merging import CONSUMER
from task_core.models import ConflictRecord, Task
from tether_common.db import transaction
from tether_events import CloudEvent, TaskChanged, Topic, VectorClock, decode, topic_name
from tether_events.inprocess import InProcessBus
from tether_sync import FieldStamp

TASKS = "/internal/v1/tenants/acme/tasks"
PROVIDER_CHANGED = topic_name(Topic.PROVIDER_CHANGED)
StartTaskCore = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
WaitProcessed = Callable[[str, str], Awaitable[None]]
ProviderEvent = Callable[..., CloudEvent[Any]]


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post(TASKS, json={"title": "Plan", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def conflicts(sessions: async_sessionmaker[AsyncSession]) -> list[ConflictRecord]:
    async with transaction(sessions) as session:
        rows = await session.scalars(select(ConflictRecord).order_by(ConflictRecord.resolved_at))
        return list(rows.all())


def conflicts_counted() -> float:
    return REGISTRY.get_sample_value("tether_task_core_conflicts_total") or 0.0


async def test_a_provider_change_is_merged_and_published_with_the_merged_clock(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task = await create(api, due_date="2026-12-01")
    edited = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    change = make_provider_event(
        task["id"], base={"title": "Plan"}, new={"title": "Plan B"}, edited_at=edited
    )
    await bus.publish(PROVIDER_CHANGED, change)

    merged = (await wait_for_events(2))[1].data
    assert isinstance(merged, TaskChanged)
    assert (merged.title, merged.due_date) == ("Plan B", date(2026, 12, 1))
    assert merged.clock == VectorClock({"core": 2, "trello:c1": 1})
    assert (merged.origin, merged.changed_fields, merged.version) == ("trello:c1", ["title"], 2)
    current = (await api.get(f"{TASKS}/{task['id']}")).json()
    assert (current["title"], current["version"]) == ("Plan B", 2)
    assert current["clock"] == {"core": 2, "trello:c1": 1}
    history = (await api.get(f"{TASKS}/{task['id']}/history")).json()["items"]
    assert [(h["version"], h["origin"], h["changed_fields"]) for h in history] == [
        (2, "trello:c1", ["title"]),
        (1, "core", ["title", "description", "due_date", "due_at", "completed"]),
    ]
    async with transaction(sessions) as session:
        row = await session.get(Task, task["id"])
    assert row is not None
    # The provider's edit now owns the title: its stamp is what latest_wins will compare.
    assert FieldStamp.model_validate(row.stamps["title"]) == FieldStamp(
        replica="trello:c1", edited_at=edited
    )
    assert row.stamps["due"]["replica"] == "core"
    assert await conflicts(sessions) == []


async def test_concurrent_changes_of_different_fields_both_survive(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task = await create(api)
    await bus.publish(
        PROVIDER_CHANGED,
        make_provider_event(task["id"], base={"title": "Plan"}, new={"title": "From Trello"}),
    )
    await bus.publish(
        PROVIDER_CHANGED,
        make_provider_event(
            task["id"],
            replica="asana:g1",
            base={"due_date": None},
            new={"due_date": "2026-12-24"},
        ),
    )
    events = await wait_for_events(3)
    assert [e.data.origin for e in events] == ["core", "trello:c1", "asana:g1"]
    final = (await api.get(f"{TASKS}/{task['id']}")).json()
    assert (final["title"], final["due_date"]) == ("From Trello", "2026-12-24")
    assert final["clock"] == {"core": 3, "trello:c1": 1, "asana:g1": 1}
    assert events[-1].data.clock == VectorClock(final["clock"])
    assert await conflicts(sessions) == []


@pytest.mark.parametrize(
    ("provider_offset", "winner", "title"),
    [(timedelta(hours=-1), "core", "Core title"), (timedelta(hours=1), "trello:c1", "Trello")],
    ids=["core-edit-later", "provider-edit-later"],
)
async def test_the_same_field_edited_on_both_sides_is_a_conflict_latest_wins(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
    provider_offset: timedelta,
    winner: str,
    title: str,
) -> None:
    task = await create(api)
    patched = await api.patch(f"{TASKS}/{task['id']}", json={"title": "Core title"})
    core_edit = datetime.fromisoformat(patched.json()["updated_at"])
    change = make_provider_event(
        task["id"],
        base={"title": "Plan"},
        new={"title": "Trello"},
        edited_at=core_edit + provider_offset,
    )
    await bus.publish(PROVIDER_CHANGED, change)

    merged = (await wait_for_events(3))[2].data
    # Published whatever the outcome: the clock now includes the provider's change.
    assert merged.clock == VectorClock({"core": 3, "trello:c1": 1})
    assert merged.title == title
    assert merged.changed_fields == ([] if winner == "core" else ["title"])
    [record] = await conflicts(sessions)
    assert (record.task_id, record.tenant_id, record.field) == (task["id"], "acme", "title")
    assert (record.base_value, record.core_value, record.provider_value) == (
        "Plan",
        "Core title",
        "Trello",
    )
    assert (record.core_replica, record.provider_replica) == ("core", "trello:c1")
    assert (record.winner, record.winning_value, record.policy) == (winner, title, "latest_wins")

    listed = (await api.get("/internal/v1/tenants/acme/conflicts")).json()["items"]
    assert [(c["id"], c["winner"], c["winning_value"]) for c in listed] == [
        (record.id, winner, title)
    ]


async def test_conflict_policies_come_from_settings_per_field(
    settings: TaskCoreSettings,
    start_task_core: StartTaskCore,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    configured = settings.model_copy(
        update={"conflict_policy": "core_wins", "field_policies": {"title": "provider_wins"}}
    )
    conflicts_before = conflicts_counted()
    async with start_task_core(settings=configured) as api:
        task = await create(api, description="base")
        await api.patch(f"{TASKS}/{task['id']}", json={"title": "core", "description": "core text"})
        old = datetime(2020, 1, 1, tzinfo=UTC)  # an older edit: latest_wins would keep core's
        change = make_provider_event(
            task["id"],
            base={"title": "Plan", "description": "base"},
            new={"title": "provider", "description": "provider text"},
            edited_at=old,
        )
        await bus.publish(PROVIDER_CHANGED, change)
        await wait_for_events(3)
        final = (await api.get(f"{TASKS}/{task['id']}")).json()
    assert (final["title"], final["description"]) == ("provider", "core text")
    assert sorted((c.field, c.policy) for c in await conflicts(sessions)) == [
        ("description", "core_wins"),
        ("title", "provider_wins"),
    ]
    assert conflicts_counted() == conflicts_before + 2  # the metric: one per field


async def test_a_persons_edit_of_a_copy_cut_to_the_providers_limit_is_no_conflict(
    settings: TaskCoreSettings,
    start_task_core: StartTaskCore,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Jira's summary holds 255: the copy shows the title cut with an ellipsis. Under
    # core_wins a conflict would throw the person's edit away.
    configured = settings.model_copy(update={"conflict_policy": "core_wins"})
    long_title = "Plan " + "w" * 300
    async with start_task_core(settings=configured) as api:
        task = await create(api, title=long_title)
        change = make_provider_event(
            task["id"],
            replica="jira:acme/TT-1",
            base={"title": long_title[:254] + "\N{HORIZONTAL ELLIPSIS}"},
            new={"title": "Plan the month"},
            limits={"title": 255},
        )
        await bus.publish(PROVIDER_CHANGED, change)
        await wait_for_events(2)
        final = (await api.get(f"{TASKS}/{task['id']}")).json()
    assert final["title"] == "Plan the month"
    assert await conflicts(sessions) == []


async def test_a_redelivered_or_already_merged_change_is_ignored(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    wait_processed: WaitProcessed,
    make_provider_event: ProviderEvent,
) -> None:
    task = await create(api)
    change = make_provider_event(task["id"], base={"title": "Plan"}, new={"title": "B"})
    # The same CloudEvent twice (a redelivery), then the same change under a new id (the clock
    # says it is merged already).
    same_change = make_provider_event(task["id"], base={"title": "Plan"}, new={"title": "B"})
    for event in (change, change, same_change):
        await bus.publish(PROVIDER_CHANGED, event)
    await wait_processed(CONSUMER, same_change.id)
    # A later change: the event after the merged one must be this one.
    following = make_provider_event(
        task["id"],
        base_clock={"core": 2, "trello:c1": 1},
        base={"completed": False},
        new={"completed": True},
    )
    await bus.publish(PROVIDER_CHANGED, following)
    events = await wait_for_events(3)
    await asyncio.sleep(0.1)
    assert [e.data.version for e in events] == [1, 2, 3]
    assert events[2].data.clock == VectorClock({"core": 3, "trello:c1": 2})
    assert (await api.get(f"{TASKS}/{task['id']}")).json()["version"] == 3


async def test_a_change_whose_predecessor_is_missing_waits_and_is_retried(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    make_provider_event: ProviderEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task = await create(api)
    # Its base includes core's second change, which core has not made yet: not ready.
    early = make_provider_event(
        task["id"], base_clock={"core": 2}, base={"title": "Plan"}, new={"title": "Provider"}
    )
    await bus.publish(PROVIDER_CHANGED, early)
    await asyncio.sleep(0.3)
    assert (await api.get(f"{TASKS}/{task['id']}")).json()["title"] == "Plan"

    await api.patch(f"{TASKS}/{task['id']}", json={"description": "now core is at 2"})
    events = await wait_for_events(3)
    merged = events[2].data
    assert (merged.title, merged.description) == ("Provider", "now core is at 2")
    assert merged.clock == VectorClock({"core": 3, "trello:c1": 1})


async def test_unknown_tasks_other_tenants_and_invalid_changes_do_not_block(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_for_events: WaitForEvents,
    wait_processed: WaitProcessed,
    make_provider_event: ProviderEvent,
) -> None:
    task = await create(api)
    unknown = make_provider_event("no-such-task", base={"title": "a"}, new={"title": "b"})
    other_tenant = make_provider_event(
        task["id"], tenant_id="globex", base={"title": "Plan"}, new={"title": "hijack"}
    )
    mismatched = make_provider_event(task["id"], base={"title": "Plan"}, new={"due_date": None})
    not_a_field = make_provider_event(task["id"], base={"colour": "a"}, new={"colour": "b"})
    valid = make_provider_event(task["id"], base={"title": "Plan"}, new={"title": "Valid"})
    for event in (unknown, other_tenant, mismatched, not_a_field, valid):
        await bus.publish(PROVIDER_CHANGED, event)

    events = await wait_for_events(2)
    assert events[1].data.title == "Valid"
    for event in (unknown, other_tenant, mismatched, not_a_field):
        await wait_processed(CONSUMER, event.id)
    # Invalid changes are parked on the dead-letter topic, not lost.
    dead = [decode(raw) for raw in bus.store.logs[topic_name(Topic.DEAD_LETTER)].records]
    assert [e.id for e in dead] == [mismatched.id, not_a_field.id]


async def test_api_edits_stamp_the_fields_they_change(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task = await create(api)
    patched = (await api.patch(f"{TASKS}/{task['id']}", json={"completed": True})).json()
    async with transaction(sessions) as session:
        row = await session.get(Task, task["id"])
    assert row is not None
    created = FieldStamp(replica="core", edited_at=task["created_at"])
    updated = FieldStamp(replica="core", edited_at=patched["updated_at"])
    assert {name: FieldStamp.model_validate(stamp) for name, stamp in row.stamps.items()} == {
        "title": created,
        "description": created,
        "due": created,
        "completed": updated,
    }
