"""Task snapshots coalesce per task, the newest version standing for the rest."""

from __future__ import annotations

import asyncio
from typing import Any

from tether_connector_runtime.coalesce import newer_task_state, task_of
from tether_events import CloudEvent, LinkChanged, TaskChanged, encode
from tether_events.inprocess import InProcessBus
from tether_events.testing import task_changed

TOPIC = "tether.task-changed.v1"


def snapshot(
    task_id: str, version: int, *, tenant: str = "acme", links_version: int | None = None
) -> CloudEvent[TaskChanged]:
    return task_changed(task_id, version, tenant_id=tenant, links_version=links_version)


def test_snapshots_of_one_task_share_a_key_and_other_tasks_do_not() -> None:
    assert task_of(snapshot("t1", 1)) == task_of(snapshot("t1", 7))
    assert task_of(snapshot("t1", 1)) != task_of(snapshot("t2", 1))
    assert task_of(snapshot("t1", 1)) != task_of(snapshot("t1", 1, tenant="globex"))


def test_other_events_are_never_coalesced() -> None:
    link = LinkChanged(
        link_id="l", task_id="t1", tenant_id="acme", provider="trello", status="active"
    ).envelope(source="/test", subject="t1", tenant_id="acme")
    assert task_of(link) is None


def test_the_higher_version_wins_whatever_its_place() -> None:
    old, new = snapshot("t1", 2), snapshot("t1", 5)
    assert newer_task_state(old, new) is new
    assert newer_task_state(new, old) is new
    again = snapshot("t1", 5)
    assert newer_task_state(new, again) is again  # a duplicate: the later copy


def test_of_one_version_the_state_resent_with_a_higher_links_version_wins() -> None:
    # Task-core resent version 5 on a link's activation (count 3); a replayed dead letter of
    # the first version 5 (count 2) then comes behind it in the log.
    resent, replayed = snapshot("t1", 5, links_version=3), snapshot("t1", 5, links_version=2)
    assert newer_task_state(resent, replayed) is resent
    assert newer_task_state(replayed, resent) is resent
    assert newer_task_state(snapshot("t1", 4, links_version=9), resent) is resent
    uncounted = snapshot("t1", 5)
    assert newer_task_state(resent, uncounted) is resent


async def test_on_the_bus_a_burst_of_snapshots_is_handled_once_per_task() -> None:
    bus = InProcessBus()
    handled: list[tuple[str, int]] = []
    done = asyncio.Event()

    async def handle(e: CloudEvent[Any]) -> None:
        handled.append((e.subject, e.data.version))
        if e.subject == "t2":
            done.set()

    bus.subscribe([TOPIC], "connector", handle, coalesce_by=task_of, newer_of=newer_task_state)
    burst = [snapshot("t1", 1), snapshot("t1", 3), snapshot("t1", 2), snapshot("t2", 1)]
    await bus.store.append(TOPIC, *map(encode, burst))
    await bus.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await bus.stop()
    assert handled == [("t1", 3), ("t2", 1)]
