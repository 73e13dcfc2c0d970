"""Exports and the links registry: a pending link and its ExportRequested in one transaction,
one live link per task and connection, and link status applied once from connectors' events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from task_core.links import CONSUMER
from task_core.merging import CONSUMER as PROVIDER_CONSUMER
from task_core.models import OutboxMessage
from tether_common.db import transaction
from tether_events import (
    CloudEvent,
    ExportRequested,
    TaskChanged,
    Topic,
    VectorClock,
    decode,
    topic_name,
)
from tether_events.inprocess import InProcessBus

TASKS = "/internal/v1/tenants/acme/tasks"
LINK_EVENTS = topic_name(Topic.LINK_EVENTS)
PROVIDER_CHANGED = topic_name(Topic.PROVIDER_CHANGED)
TASK_CHANGED = topic_name(Topic.TASK_CHANGED)
WaitProcessed = Callable[[str, str], Awaitable[None]]
WaitForEvents = Callable[[int], Awaitable[list[CloudEvent[Any]]]]
LinkEvent = Callable[..., CloudEvent[Any]]
ProviderEvent = Callable[..., CloudEvent[Any]]
TRELLO = {"provider": "trello", "connection_id": "trello_9f2c", "target": {"list_id": "L1"}}


async def create(api: httpx.AsyncClient, title: str = "Plan") -> str:
    response = await api.post(TASKS, json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def export(
    api: httpx.AsyncClient, task_id: str, body: dict[str, Any] = TRELLO
) -> httpx.Response:
    return await api.post(f"{TASKS}/{task_id}/links", json=body)


async def links_of(api: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{TASKS}/{task_id}/links")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def export_requests(bus: InProcessBus) -> list[CloudEvent[Any]]:
    events = [decode(raw) for raw in bus.store.logs[LINK_EVENTS].records]
    return [e for e in events if isinstance(e.data, ExportRequested)]


async def queued_task_changes(sessions: async_sessionmaker[AsyncSession]) -> list[TaskChanged]:
    """Every TaskChanged task-core committed to its outbox, in commit order: final once the
    consumer recorded the event that caused them (same transaction), unlike the bus."""
    async with transaction(sessions) as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic == TASK_CHANGED)
            .order_by(OutboxMessage.id)
        )
        changes = [decode(row.payload.encode()).data for row in rows.all()]
    assert all(isinstance(change, TaskChanged) for change in changes)
    return changes


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


async def until_published(bus: InProcessBus, count: int) -> list[CloudEvent[Any]]:
    async with asyncio.timeout(5):
        while True:
            if len(requests := export_requests(bus)) >= count:
                return requests
            await asyncio.sleep(0.02)


async def test_an_export_is_a_pending_link_and_an_export_request_with_the_task(
    api: httpx.AsyncClient, bus: InProcessBus, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task_id = await create(api)
    await api.patch(f"{TASKS}/{task_id}", json={"due_date": "2026-12-01"})

    response = await export(api, task_id)

    assert response.status_code == 202, response.text
    link = response.json()
    assert (link["task_id"], link["tenant_id"], link["status"]) == (task_id, "acme", "pending")
    assert (link["provider"], link["connection_id"], link["target"]) == (
        "trello",
        "trello_9f2c",
        {"list_id": "L1"},
    )
    assert (link["replica"], link["external_id"], link["url"], link["error"]) == (None,) * 4
    [request] = await until_published(bus, 1)
    assert (request.subject, request.tenantid) == (task_id, "acme")
    data = request.data
    assert isinstance(data, ExportRequested)
    assert (data.link_id, data.provider, data.connection_id) == (
        link["id"],
        "trello",
        "trello_9f2c",
    )
    assert data.target == {"list_id": "L1"}
    # The task's current state, as its latest TaskChanged carried it.
    assert (data.task.title, str(data.task.due_date), data.task.version) == (
        "Plan",
        "2026-12-01",
        2,
    )
    assert data.task.clock == VectorClock({"core": 2})
    assert (data.task.origin, data.task.changed_fields) == ("core", ["due_date"])
    async with transaction(sessions) as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == LINK_EVENTS)
        )
        [row] = rows.all()
    assert (row.key, row.event_id) == (task_id, request.id)
    assert await links_of(api, task_id) == [link]


async def test_exporting_twice_to_one_connection_is_a_409(api: httpx.AsyncClient) -> None:
    task_id = await create(api)
    first = (await export(api, task_id)).json()
    again = await export(api, task_id)
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["details"]["link_id"], error["details"]["connection_id"]) == (
        "already_exported",
        first["id"],
        "trello_9f2c",
    )
    other = await export(api, task_id, {**TRELLO, "connection_id": "trello_other"})
    assert other.status_code == 202
    assert [link["connection_id"] for link in await links_of(api, task_id)] == [
        "trello_9f2c",
        "trello_other",
    ]


async def test_concurrent_exports_to_one_connection_register_one_link(
    api: httpx.AsyncClient,
) -> None:
    task_id = await create(api)
    responses = await asyncio.gather(*(export(api, task_id) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409, 409]
    assert len(await links_of(api, task_id)) == 1


async def test_unknown_deleted_and_other_tenants_tasks_cannot_be_exported(
    api: httpx.AsyncClient,
) -> None:
    deleted = await create(api, "gone")
    await api.delete(f"{TASKS}/{deleted}")
    mine = await create(api)
    for url in (
        f"{TASKS}/no-such-task/links",
        f"{TASKS}/{deleted}/links",
        f"/internal/v1/tenants/globex/tasks/{mine}/links",
    ):
        response = await api.post(url, json=TRELLO)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "task_not_found"
    assert (await api.get(f"{TASKS}/no-such-task/links")).status_code == 404
    assert (await api.get(f"/internal/v1/tenants/globex/tasks/{mine}/links")).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**TRELLO, "provider": "github"}, ["body", "provider"]),
        ({**TRELLO, "target": {}}, ["body", "target"]),
        ({**TRELLO, "connection_id": ""}, ["body", "connection_id"]),
        ({"provider": "trello", "connection_id": "trello_1"}, ["body", "target"]),
    ],
)
async def test_a_malformed_export_is_a_422(
    api: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = await export(api, await create(api), body)
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["error"]["details"]]


async def test_link_status_from_connectors_is_applied_once(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()

    failed = make_link_event(link, "failed", error="list L1 not found")
    await bus.publish(LINK_EVENTS, failed)
    await wait_processed(CONSUMER, failed.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"]) == ("failed", "list L1 not found")

    # Exporting again after a failure retries the same link (its id is the item's marker).
    retried = await export(api, task_id, {**TRELLO, "target": {"list_id": "L2"}})
    assert retried.status_code == 202
    assert (retried.json()["id"], retried.json()["status"]) == (link["id"], "pending")
    assert retried.json()["target"] == {"list_id": "L2"}
    requests = await until_published(bus, 2)
    assert [r.data.link_id for r in requests] == [link["id"]] * 2
    assert requests[1].data.target == {"list_id": "L2"}

    # The old failure delivered again changes nothing: the inbox knows it.
    await bus.publish(LINK_EVENTS, failed)
    active = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, active)
    await wait_processed(CONSUMER, active.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"]) == ("active", None)
    assert (stored["replica"], stored["external_id"], stored["url"]) == (
        "trello:card1",
        "card1",
        "https://example.test/card1",
    )
    # A late failure of a redundant attempt does not undo an item that exists.
    late = make_link_event(link, "failed", error="timeout")
    await bus.publish(LINK_EVENTS, late)
    await wait_processed(CONSUMER, late.id)
    assert (await links_of(api, task_id))[0]["status"] == "active"


async def test_an_unlinked_copy_is_noted_in_history_and_can_be_exported_anew(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    for event in (
        make_link_event(link, "active", external_id="card1"),
        make_link_event(link, "unlinked", external_id="card1"),
    ):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, event.id)

    [stored] = await links_of(api, task_id)
    assert stored["status"] == "unlinked"
    task = (await api.get(f"{TASKS}/{task_id}")).json()
    assert (task["deleted"], task["version"], task["clock"]) == (False, 2, {"core": 1})
    [note, _] = (await api.get(f"{TASKS}/{task_id}/history")).json()["items"]
    assert (note["origin"], note["changed_fields"]) == ("trello:card1", ["unlinked"])

    again = await export(api, task_id)
    assert again.status_code == 202
    assert again.json()["id"] != link["id"]
    # Unlinked is final: a late "active" for the old link revives nothing.
    late = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, late)
    await wait_processed(CONSUMER, late.id)
    assert [item["status"] for item in await links_of(api, task_id)] == ["unlinked", "pending"]


async def test_a_provider_delete_unlinks_and_keeps_the_task(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    make_provider_event: ProviderEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    activated = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, activated)
    await wait_processed(CONSUMER, activated.id)

    deleted = make_provider_event(task_id, link_id=link["id"], deleted=True)
    await bus.publish(PROVIDER_CHANGED, deleted)
    await bus.publish(PROVIDER_CHANGED, deleted)  # redelivered: noted once
    await wait_processed(PROVIDER_CONSUMER, deleted.id)

    assert [item["status"] for item in await links_of(api, task_id)] == ["unlinked"]
    task = (await api.get(f"{TASKS}/{task_id}")).json()
    assert (task["title"], task["deleted"], task["version"]) == ("Plan", False, 2)
    history = (await api.get(f"{TASKS}/{task_id}/history")).json()["items"]
    assert (history[0]["origin"], history[0]["changed_fields"]) == ("trello:c1", ["unlinked"])
    assert len(history) == 2
    # ...and flagged, so a person learns the copy went away (and can tell if it was intended).
    review = task["review"]
    assert (review["reason"], review["provider"], review["link_id"]) == (
        "provider_deleted",
        "trello",
        link["id"],
    )
    assert "Trello" in review["message"]


async def test_a_flagged_task_is_listed_for_review_until_a_person_clears_it(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    make_provider_event: ProviderEvent,
) -> None:
    quiet = await create(api, "Untouched")
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    activated = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, activated)
    await wait_processed(CONSUMER, activated.id)
    deleted = make_provider_event(task_id, link_id=link["id"], deleted=True)
    await bus.publish(PROVIDER_CHANGED, deleted)
    await wait_processed(PROVIDER_CONSUMER, deleted.id)

    async def ids(query: str) -> list[str]:
        response = await api.get(f"{TASKS}?{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("needs_review=true") == [task_id]
    assert await ids("needs_review=false") == [quiet]
    assert await ids("limit=50") == [quiet, task_id]

    cleared = await api.delete(f"{TASKS}/{task_id}/review")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["review"] is None
    assert await ids("needs_review=true") == []
    history = (await api.get(f"{TASKS}/{task_id}/history")).json()["items"]
    assert history[0]["changed_fields"] == ["review_cleared"]
    # The flag is not synced: clearing it moves no clock and publishes nothing for copies.
    assert cleared.json()["clock"] == {"core": 1}
    again = await api.delete(f"{TASKS}/{task_id}/review")
    assert again.json()["version"] == cleared.json()["version"]  # nothing left to clear
    assert (await api.delete(f"{TASKS}/nope/review")).status_code == 404


async def test_events_about_unknown_links_are_skipped(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    stranger = make_link_event({**link, "id": "no-such-link"}, "active", external_id="x")
    other_tenant = make_link_event({**link, "tenant_id": "globex"}, "active", external_id="y")
    real = make_link_event(link, "active", external_id="card1")
    for event in (stranger, other_tenant, real):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, real.id)
    [stored] = await links_of(api, task_id)
    assert stored["external_id"] == "card1"


async def test_a_deleted_tasks_archived_copy_is_reported_and_final(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    assert (await api.delete(f"{TASKS}/{task_id}")).status_code == 204
    for event in (
        make_link_event(link, "active", external_id="card1"),
        make_link_event(link, "archived", external_id="card1"),
        make_link_event(link, "active", external_id="card1"),  # late: changes nothing
    ):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, event.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["external_id"]) == ("archived", "card1")


NEXT_TRY = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def test_a_retrying_export_shows_its_last_error_and_next_attempt_until_active(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    assert link["next_attempt_at"] is None

    first = make_link_event(link, "retrying", error="Trello: 503", next_attempt_at=NEXT_TRY)
    await bus.publish(LINK_EVENTS, first)
    await wait_processed(CONSUMER, first.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], at(stored["next_attempt_at"])) == (
        "retrying",
        "Trello: 503",
        NEXT_TRY,
    )
    # Still no item: a pending export that retries has nothing to show but its error.
    assert (stored["replica"], stored["external_id"], stored["url"]) == (None,) * 3
    # ...and it is still the connection's live link: exporting again is refused.
    assert (await export(api, task_id)).status_code == 409

    later = NEXT_TRY + timedelta(minutes=2)
    second = make_link_event(link, "retrying", error="Trello: 429", next_attempt_at=later)
    await bus.publish(LINK_EVENTS, second)
    await wait_processed(CONSUMER, second.id)
    [stored] = await links_of(api, task_id)
    assert (stored["error"], at(stored["next_attempt_at"])) == ("Trello: 429", later)

    active = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, active)
    await wait_processed(CONSUMER, active.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], stored["next_attempt_at"]) == ("active", None, None)
    assert stored["external_id"] == "card1"


async def test_an_active_link_whose_writes_retry_keeps_its_item(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    retrying = make_link_event(
        link, "retrying", external_id="card1", error="Trello: 502", next_attempt_at=NEXT_TRY
    )
    for event in (make_link_event(link, "active", external_id="card1"), retrying):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, retrying.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], at(stored["next_attempt_at"])) == (
        "retrying",
        "Trello: 502",
        NEXT_TRY,
    )
    assert (stored["replica"], stored["external_id"]) == ("trello:card1", "card1")

    # Recovered: reported active without the item's identity, which the link keeps.
    recovered = make_link_event(link, "active")
    await bus.publish(LINK_EVENTS, recovered)
    await wait_processed(CONSUMER, recovered.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], stored["next_attempt_at"]) == ("active", None, None)
    assert (stored["replica"], stored["external_id"], stored["url"]) == (
        "trello:card1",
        "card1",
        "https://example.test/card1",
    )


async def test_an_active_link_shows_a_refused_write_until_one_goes_through(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    words = "Jira's workflow offers no way to a done status from status To Do"
    # The connector's word after a write the provider refused for good: still active (no
    # item identity repeated, no clock: nothing to re-send), with the provider's words.
    active = make_link_event(link, "active", external_id="card1")
    await bus.publish(LINK_EVENTS, active)
    await wait_processed(CONSUMER, active.id)
    before = len(await queued_task_changes(sessions))
    refused = make_link_event(link, "active", error=words)
    await bus.publish(LINK_EVENTS, refused)
    await wait_processed(CONSUMER, refused.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], stored["next_attempt_at"]) == ("active", words, None)
    assert stored["external_id"] == "card1"
    assert len(await queued_task_changes(sessions)) == before  # nothing re-sent

    # A later write went through: active without an error clears it.
    cleared = make_link_event(link, "active")
    await bus.publish(LINK_EVENTS, cleared)
    await wait_processed(CONSUMER, cleared.id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"]) == ("active", None)


@pytest.mark.parametrize("item", [None, "card1"], ids=["pending-export", "active-link"])
async def test_a_failure_after_retrying_is_failed(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    item: str | None,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    events = [
        make_link_event(link, "retrying", error="Trello: 503", next_attempt_at=NEXT_TRY),
        make_link_event(link, "failed", error="Trello: 503 for 24 h"),
    ]
    if item is not None:
        events.insert(0, make_link_event(link, "active", external_id=item))
    for event in events:
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, events[-1].id)
    [stored] = await links_of(api, task_id)
    assert (stored["status"], stored["error"], stored["next_attempt_at"]) == (
        "failed",
        "Trello: 503 for 24 h",
        None,
    )
    # Failed is not final: exporting again retries the same link.
    again = await export(api, task_id)
    assert again.status_code == 202
    assert (again.json()["id"], again.json()["status"]) == (link["id"], "pending")


async def test_retrying_does_not_revive_an_unlinked_or_archived_link(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    unlinked_task = await create(api, "unlinked")
    unlinked = (await export(api, unlinked_task)).json()
    archived_task = await create(api, "archived")
    archived = (await export(api, archived_task)).json()
    assert (await api.delete(f"{TASKS}/{archived_task}")).status_code == 204
    events = [
        make_link_event(unlinked, "active", external_id="card1"),
        make_link_event(unlinked, "unlinked", external_id="card1"),
        make_link_event(archived, "active", external_id="card2", synced_clock={"core": 2}),
        make_link_event(archived, "archived", external_id="card2"),
    ]
    late = [
        make_link_event(link, "retrying", error="Trello: 503", next_attempt_at=NEXT_TRY)
        for link in (unlinked, archived)
    ]
    # A late "active" behind the task's clock changes nothing either, nor sends anything.
    late.append(make_link_event(archived, "active", external_id="card2", synced_clock={"core": 1}))
    before = len(await queued_task_changes(sessions))
    for event in (*events, *late):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, late[-1].id)

    for task_id, status in ((unlinked_task, "unlinked"), (archived_task, "archived")):
        [stored] = await links_of(api, task_id)
        assert (stored["status"], stored["error"], stored["next_attempt_at"]) == (
            status,
            None,
            None,
        )
    assert len(await queued_task_changes(sessions)) == before


@pytest.mark.parametrize(
    ("synced_clock", "resends"),
    [
        ({"core": 1}, 1),  # made from the export's state: the rename is not on the item
        ({"core": 1, "trello:card1": 1}, 1),  # concurrent with the task: not covered either
        ({"core": 2}, 0),  # the connector already wrote the rename
        (None, 0),  # an older connector: nothing to compare
    ],
    ids=["behind", "concurrent", "covered", "no-clock"],
)
async def test_a_link_active_behind_the_task_gets_its_state_again(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
    wait_for_events: WaitForEvents,
    synced_clock: dict[str, int] | None,
    resends: int,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    # Edited while the connector creates the item from the export's state ({core: 1}).
    renamed = await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan B"})
    assert renamed.json()["clock"] == {"core": 2}

    activated = make_link_event(link, "active", external_id="card1", synced_clock=synced_clock)
    await bus.publish(LINK_EVENTS, activated)
    await wait_processed(CONSUMER, activated.id)

    created, latest, *resent = await queued_task_changes(sessions)
    assert (created.version, latest.version, latest.title) == (1, 2, "Plan B")
    assert len(resent) == resends
    # The very state of the latest version: same version, clock, origin and fields; only
    # its links_version is past the latest's (the activation raised it: connectors' cached
    # links of the task no longer hold).
    assert latest.links_version is not None
    assert all(
        event.model_copy(update={"links_version": latest.links_version}) == latest
        and event.links_version is not None
        and event.links_version > latest.links_version
        for event in resent
    )
    # Not a change: no version, no history row.
    task = (await api.get(f"{TASKS}/{task_id}")).json()
    assert (task["version"], task["clock"]) == (2, {"core": 2})
    history = (await api.get(f"{TASKS}/{task_id}/history")).json()["items"]
    assert [entry["version"] for entry in history] == [2, 1]
    assert (await links_of(api, task_id))[0]["status"] == "active"
    if resends:
        # Rung through: the relay sends it at once, not at its next poll (60 s in tests).
        *_, sent = await wait_for_events(3)
        assert (sent.subject, sent.tenantid, sent.data) == (task_id, "acme", resent[0])


async def test_a_redelivered_activation_resends_once(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    await api.patch(f"{TASKS}/{task_id}", json={"title": "Plan B"})
    activated = make_link_event(link, "active", external_id="card1", synced_clock={"core": 1})
    # The same item reported again (a new event, the clock it now reflects): nothing to send.
    caught_up = make_link_event(link, "active", external_id="card1", synced_clock={"core": 2})
    for event in (activated, activated, caught_up):
        await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, caught_up.id)
    assert len(await queued_task_changes(sessions)) == 3  # create, rename, one resend


async def test_a_task_deleted_while_its_item_was_created_is_resent_deleted(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
    sessions: async_sessionmaker[AsyncSession],
    wait_for_events: WaitForEvents,
) -> None:
    task_id = await create(api)
    link = (await export(api, task_id)).json()
    assert (await api.delete(f"{TASKS}/{task_id}")).status_code == 204

    activated = make_link_event(link, "active", external_id="card1", synced_clock={"core": 1})
    await bus.publish(LINK_EVENTS, activated)
    await wait_processed(CONSUMER, activated.id)

    _, deleted, resent = await queued_task_changes(sessions)
    assert (deleted.deleted, deleted.changed_fields) == (True, ["deleted"])
    # The new item learns it must be archived (the same state; the activation raised only
    # the count of the task's link changes).
    assert resent == deleted.model_copy(update={"links_version": resent.links_version})
    assert (resent.links_version or 0) > (deleted.links_version or 0)
    *_, sent = await wait_for_events(3)
    assert sent.data == resent
    history = (await api.get(f"{TASKS}/{task_id}/history")).json()["items"]
    assert [entry["version"] for entry in history] == [2, 1]
