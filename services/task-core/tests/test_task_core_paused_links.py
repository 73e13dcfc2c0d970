"""A link that waits for a person: its copy archived in the provider (the task is flagged; a
restore clears the flag), its connection broken (no flag: the connection says so), and a task
exported again to its archived copy (the same link, so the connector restores that copy)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from task_core.links import CONSUMER
from tether_events import CloudEvent, LinkChanged, Topic, topic_name
from tether_events.inprocess import InProcessBus

TASKS = "/internal/v1/tenants/acme/tasks"
LINK_EVENTS = topic_name(Topic.LINK_EVENTS)
WaitProcessed = Callable[[str, str], Awaitable[None]]
LinkEvent = Callable[..., CloudEvent[Any]]
TRELLO = {"provider": "trello", "connection_id": "trello_9f2c", "target": {"list_id": "L1"}}


def paused(link: dict[str, Any], reason: str) -> CloudEvent[LinkChanged]:
    data = LinkChanged(
        link_id=link["id"],
        task_id=link["task_id"],
        tenant_id=link["tenant_id"],
        provider=link["provider"],
        status="paused",
        reason=reason,
        external_id="card1",
        error=f"paused: {reason}",
    )
    return data.envelope(source="/test", subject=link["task_id"], tenant_id=link["tenant_id"])


async def exported_link(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> dict[str, Any]:
    created = await api.post(TASKS, json={"title": "Plan"})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    link: dict[str, Any] = (await api.post(f"{TASKS}/{task_id}/links", json=TRELLO)).json()
    await deliver(bus, wait_processed, make_link_event(link, "active", external_id="card1"))
    return link


async def deliver(bus: InProcessBus, wait_processed: WaitProcessed, event: CloudEvent[Any]) -> None:
    await bus.publish(LINK_EVENTS, event)
    await wait_processed(CONSUMER, event.id)


async def link_and_task(api: httpx.AsyncClient, link: dict[str, Any]) -> tuple[Any, Any]:
    [stored] = (await api.get(f"{TASKS}/{link['task_id']}/links")).json()
    task = (await api.get(f"{TASKS}/{link['task_id']}")).json()
    return stored, task


async def test_an_archived_copy_pauses_the_link_and_flags_the_task_until_restored(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    link = await exported_link(api, bus, wait_processed, make_link_event)
    await deliver(bus, wait_processed, paused(link, "item_archived"))

    stored, task = await link_and_task(api, link)
    assert (stored["status"], stored["error"]) == ("paused", "paused: item_archived")
    assert task["review"]["reason"] == "provider_archived"
    assert task["review"]["link_id"] == link["id"]
    assert task["version"] == 1  # a flag, not an edit

    await deliver(bus, wait_processed, make_link_event(link, "active", external_id="card1"))
    stored, task = await link_and_task(api, link)
    assert (stored["status"], stored["error"]) == ("active", None)
    assert task["review"] is None


async def test_a_broken_connection_pauses_the_link_without_flagging_the_task(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    link = await exported_link(api, bus, wait_processed, make_link_event)
    await deliver(bus, wait_processed, paused(link, "connection_broken"))

    stored, task = await link_and_task(api, link)
    assert stored["status"] == "paused"
    assert task["review"] is None


async def test_exporting_again_to_an_archived_copy_reuses_its_link(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    wait_processed: WaitProcessed,
    make_link_event: LinkEvent,
) -> None:
    link = await exported_link(api, bus, wait_processed, make_link_event)
    await deliver(bus, wait_processed, paused(link, "item_archived"))

    again = await api.post(f"{TASKS}/{link['task_id']}/links", json=TRELLO)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == link["id"]
    assert again.json()["status"] == "pending"
    # While it is being restored the task cannot be exported there a third time.
    third = await api.post(f"{TASKS}/{link['task_id']}/links", json=TRELLO)
    assert third.status_code == 409
