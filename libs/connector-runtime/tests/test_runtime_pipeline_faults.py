"""Regression tests of the connector pipeline against the in-memory provider, one per fault.

Each test drives the real pipeline (wired by the app factory's ``_build_state``) over an SQLite
file, decides every interleaving itself (holds inside provider calls, events, the per-link
turn's own bookkeeping) and never waits for time to pass: retries fall due on a manual clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, observations, retries, writes
from tether_connector_runtime.testing import (
    FakeProvider,
    PipelineRig,
)
from tether_connector_runtime.testing.scenarios import BOARD, export_request, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_connector_runtime.turns import LinkTurns
from tether_events import (
    LinkChanged,
    ProviderItemChanged,
    VectorClock,
)
from tether_sync import CoreTask, FieldStamp, ProviderChange, TaskFields, merge_provider_change


async def until(condition: Callable[[], bool], *, turns: int = 10_000) -> None:
    """Let other tasks run until ``condition`` holds. Counts loop turns, not seconds: the
    database's worker thread answers within some turns, whatever the machine's speed."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


# a. A core deletion archives the item even when a person's edit is unpublished ----------------
async def test_a_deleted_task_archives_its_item_despite_an_unpublished_edit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    fake.edit(item_id, title="Renamed in the provider")  # its webhook has not arrived yet
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, deleted=True))
    await rig.relay()

    assert fake.items[item_id].closed, "the deleted task's item must be archived"
    assert fake.archives == 1
    assert (await rig.link("link-1")).status == "archived"
    assert [x.status for x in rig.events(LinkChanged)] == ["active", "archived"]
    # Deciding to archive needs no read, and the pending edit is not published: it cannot
    # save a deleted task.
    assert rig.events(ProviderItemChanged) == []


# b. A core edit made while the export's create call is in flight reaches the new item ---------
async def test_an_edit_during_the_create_call_reaches_the_new_item(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    p = rig.pipeline
    creating = fake.hold("create")
    export = asyncio.create_task(
        exports.export(p, export_request(connection_id, state(1, {"core": 1})))
    )
    await creating.wait_reached()
    newer = state(2, {"core": 2}, title="Plan the week (v2)")
    offer = asyncio.create_task(writes.on_task_changed(p, newer))
    # The newer state found the pending link and waits for its turn behind the export.
    await until(lambda: offer.done() or p.turns._turns["link-1"].holders == 2)
    creating.release()
    await asyncio.gather(export, offer)
    await rig.relay()

    (item,) = fake.items.values()
    assert item.fields.title == "Plan the week (v2)"
    assert (fake.creates, fake.update_count) == (1, 1)
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_clock == VectorClock({"core": 2})
    # The activation says which state the item was made from: core re-sends anything newer
    # it published before the link existed here.
    (active,) = rig.events(LinkChanged)
    assert active.status == "active"
    assert active.synced_clock == VectorClock({"core": 1})


async def test_a_redelivered_export_request_repeats_the_exported_clock(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    request = export_request(connection_id, state(1, {"core": 1}))
    await exports.export(rig.pipeline, request)
    await exports.export(rig.pipeline, request)
    await rig.relay()
    assert fake.creates == 1
    assert [x.synced_clock for x in rig.events(LinkChanged)] == [VectorClock({"core": 1})] * 2


# c. The per-link turn admits one holder at a time, however many wait --------------------------
async def test_the_link_turn_admits_one_holder_with_many_waiting() -> None:
    turns = LinkTurns()
    inside: list[str] = []
    most = 0
    entered: dict[str, asyncio.Event] = {}
    leave: dict[str, asyncio.Event] = {}
    order: list[str] = []

    async def holder(name: str) -> None:
        nonlocal most
        async with turns.turn("link-1"):
            inside.append(name)
            order.append(name)
            most = max(most, len(inside))
            entered[name].set()
            await leave[name].wait()
            inside.remove(name)

    def start(name: str) -> asyncio.Task[None]:
        entered[name], leave[name] = asyncio.Event(), asyncio.Event()
        return asyncio.create_task(holder(name))

    async def settle() -> None:
        # Pure asyncio (no threads): every runnable task has run after a few turns.
        for _ in range(20):
            await asyncio.sleep(0)

    started = [start("a")]
    await entered["a"].wait()
    started += [start(n) for n in ("b", "c", "d")]
    await settle()
    assert turns._turns["link-1"].holders == 4
    # Each release wakes the next waiter; a newcomer arriving at that very moment must queue
    # behind the waiters, not take a fresh lock beside the one just woken.
    for current, newcomer in (("a", "e"), ("b", "f"), ("c", None), ("d", None), ("e", None)):
        leave[current].set()
        if newcomer is not None:
            started.append(start(newcomer))
        await settle()
        assert len(inside) == 1, f"two holders at once: {inside}"
    leave["f"].set()
    await asyncio.gather(*started)
    assert most == 1
    assert order == ["a", "b", "c", "d", "e", "f"]
    assert len(turns) == 0  # nothing left behind once nobody holds or waits


# d. latest_wins gets the provider's per-field edit time ---------------------------------------
async def test_a_change_carries_the_providers_time_of_each_field(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    titled_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    notice = fake.edit(item_id, title="Renamed", at=titled_at)
    # Something unsynced (a move between unmapped places) touches the item later: its
    # modification time moves, the title's edit time does not.
    moved_at = titled_at + timedelta(hours=5)
    fake.move(item_id, f"{BOARD}/done", at=moved_at)
    rig.clock.now = titled_at + timedelta(days=2)  # observed much later
    await observations.observe(rig.pipeline, notice)
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed"}
    assert change.field_edited_at == {"title": titled_at}
    assert change.edited_at == moved_at

    # What it decides in core: a core edit of the title made between the two times is the
    # later edit of that field, and wins.
    core_edited_at = titled_at + timedelta(hours=1)
    core = CoreTask(
        task_id="task-1",
        fields=TaskFields(title="Core title"),
        clock=VectorClock({"core": 2}),
        stamps={
            "title": FieldStamp(replica="core", edited_at=core_edited_at),
            "description": FieldStamp(replica="core", edited_at=core_edited_at),
            "due_date": FieldStamp(replica="core", edited_at=core_edited_at),
            "completed": FieldStamp(replica="core", edited_at=core_edited_at),
        },
    )
    merged = merge_provider_change(
        core,
        ProviderChange(
            task_id=change.task_id,
            link_id=change.link_id,
            replica=change.replica,
            base_clock=change.base_clock,
            base_values=change.base_values,
            new_values=change.new_values,
            edited_at=change.edited_at,
            field_edited_at=change.field_edited_at,
        ),
        now=rig.clock.now,
    )
    assert merged.task.fields.title == "Core title"


# e. A failing link waits alone, retries on the clock, and gives up visibly --------------------
async def test_a_failing_link_is_parked_while_others_go_through(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_1 = await exported(rig, state(1, {"core": 1}))
    item_2 = await exported(
        rig,
        state(1, {"core": 1}, task_id="task-2", tenant_id="globex"),
        link_id="link-2",
        place_id="board-2/todo",
        tenant_id="globex",
        token="tok-g",
    )
    p = rig.pipeline
    fake.fail_container(BOARD)

    await writes.on_task_changed(p, state(2, {"core": 2}, title="v2"))
    await rig.relay()
    retrying = rig.events(LinkChanged)[-1]
    assert (retrying.link_id, retrying.status) == ("link-1", "retrying")
    assert retrying.error == "RetryableProviderError: the provider is unavailable"
    assert retrying.next_attempt_at == rig.clock.now + timedelta(seconds=p.retry.base)

    # Another tenant's writes and exports do not wait for it.
    await writes.on_task_changed(
        p, state(2, {"core": 2}, task_id="task-2", tenant_id="globex", title="v2")
    )
    assert fake.items[item_2].fields.title == "v2"
    connection_g = (await rig.link("link-2")).connection_id
    await exports.export(
        p,
        export_request(
            connection_g,
            state(1, {"core": 1}, task_id="task-3", tenant_id="globex"),
            link_id="link-3",
            place_id="board-2/todo",
            tenant_id="globex",
        ),
    )
    assert (await rig.link("link-3")).status == "active"

    # A burst of states for the parked link: only the newest is kept, nothing is written.
    await writes.on_task_changed(p, state(3, {"core": 3}, title="v3"))
    await writes.on_task_changed(p, state(4, {"core": 4}, title="v4"))
    await writes.on_task_changed(p, state(3, {"core": 3}, title="v3"))  # a late duplicate
    parked = (await rig.link("link-1")).parked
    assert parked is not None
    assert (parked.task["version"], parked.attempts) == (4, 1)
    assert fake.items[item_1].fields.title == "Plan the week"

    assert await retries.retry_due(p) == 0  # not due yet
    fake.heal_container(BOARD)
    updates_before = len(fake.updates)
    rig.clock.advance(p.retry.base)
    assert await retries.retry_due(p) == 1
    await rig.relay()

    written = [u for u in fake.updates[updates_before:] if u.external_id == item_1]
    assert [u.changes for u in written] == [{"title": "v4"}]
    link = await rig.link("link-1")
    assert link.parked is None
    assert link.state is not None
    assert link.state.synced_clock == VectorClock({"core": 4})
    recovered = rig.events(LinkChanged)[-1]
    assert (recovered.link_id, recovered.status) == ("link-1", "active")
    assert recovered.synced_clock == VectorClock({"core": 4})
    assert await retries.retry_due(p) == 0


async def test_retries_back_off_then_give_up_visibly(rig: PipelineRig, fake: FakeProvider) -> None:
    await exported(rig, state(1, {"core": 1}))
    p = rig.pipeline
    fake.fail_container(BOARD)
    await writes.on_task_changed(p, state(2, {"core": 2}, title="v2"))
    waits = []
    for _ in range(100):
        if (await rig.link("link-1")).status != "active":
            break
        parked = (await rig.link("link-1")).parked
        assert parked is not None
        assert parked.next_attempt_at is not None
        waits.append((parked.next_attempt_at - rig.clock.now).total_seconds())
        rig.clock.now = parked.next_attempt_at
        assert await retries.retry_due(p) == 1
    await rig.relay()

    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubling to the cap
    link = await rig.link("link-1")
    assert (link.status, link.parked) == ("failed", None)
    failed = rig.events(LinkChanged)[-1]
    assert failed.status == "failed"
    assert "gave up after" in str(failed.error)
    assert rig.clock.now >= datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=p.retry.limit)


async def test_a_failing_create_is_parked_and_retried_without_a_second_item(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    p = rig.pipeline
    # The create reaches the provider, but its answer is lost (a 503 after the effect).
    fake.fail_next("create", after_effect=True)
    await exports.export(p, export_request(connection_id, state(1, {"core": 1})))
    assert fake.creates == 1
    link = await rig.link("link-1")
    assert (link.status, link.parked is not None) == ("pending", True)

    rig.clock.advance(p.retry.base)
    assert await retries.retry_due(p) == 1
    assert fake.creates == 1, "the retry must find the marked item, not create a second"
    assert fake.calls["find_marked"] == 1
    assert (await rig.link("link-1")).status == "active"


async def test_a_revoked_grant_parks_the_link_and_breaks_the_connection(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    fake.revoked_tokens.add("tok-a")
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()

    link = await rig.link("link-1")
    assert link.parked is not None
    # The connection's pause is the link's last word: no "retrying" comes after it.
    paused = rig.events(LinkChanged)[-1]
    assert (paused.status, paused.reason) == ("paused", "connection_broken")
    assert [e.status for e in rig.events(LinkChanged)].count("retrying") == 0
    async with transaction(rig.pipeline.sessions) as session:
        connection = await rig.pipeline.repo.connection(session, link.connection_id)
    assert connection is not None
    assert (connection.status, connection.error) == ("broken", "token tok-a is revoked")


# f. The outbox: a provider change and the new base commit together; the relay keeps order -----
@pytest.mark.parametrize("crash_in", ["save_state", "outbox"])
async def test_a_crash_between_deciding_and_commit_leaves_neither(
    rig: PipelineRig, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, crash_in: str
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await rig.relay()
    notice = fake.edit(item_id, description="Agenda")
    p = rig.pipeline
    target: Any = p.repo if crash_in == "save_state" else p.outbox
    name = "save_state" if crash_in == "save_state" else "add"

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(target, name, crash)
    with pytest.raises(RuntimeError):
        await observations.observe(p, notice)
    monkeypatch.undo()

    assert await rig.outbox_rows() == []
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.description == ""  # the base did not move
    assert link.state.synced_clock == VectorClock({"core": 1})

    rig.restart()  # a new process; the webhook is retried
    await observations.observe(rig.pipeline, notice)
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert (change.base_values, change.new_values) == (
        {"description": ""},
        {"description": "Agenda"},
    )


async def test_the_relay_publishes_in_order_and_forgets_what_it_published(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    p = rig.pipeline
    for n in range(1, 4):
        await observations.observe(p, fake.edit(item_id, title=f"edit {n}"))
    rows = await rig.outbox_rows()
    ids = [r.event_id for r in rows]
    assert len(ids) == 4  # the activation, then three changes

    rig.bus.fail_next = 1  # the broker is down once: nothing is lost, nothing reordered
    with pytest.raises(ConnectionError):
        await rig.relay()
    assert [r.event_id for r in await rig.outbox_rows()] == ids
    await rig.relay()
    assert [e.id for _, e in rig.bus.published] == ids
    assert [c.new_values for c in rig.events(ProviderItemChanged)] == [
        {"title": f"edit {n}"} for n in range(1, 4)
    ]
    # Each is relative to the one before: the base moved with each publish.
    assert [c.base_values for c in rig.events(ProviderItemChanged)] == [
        {"title": "Plan the week"},
        {"title": "edit 1"},
        {"title": "edit 2"},
    ]
    assert await rig.outbox_rows() == []
    async with transaction(p.sessions) as session:
        assert list(await session.execute(select(p.outbox.table))) == []


async def test_a_late_notice_does_not_date_a_newer_value_by_an_older_edit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    first_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    second_at = first_at + timedelta(hours=2)
    late = fake.edit(item_id, title="first", at=first_at)
    fake.edit(item_id, title="second", at=second_at)
    await observations.observe(rig.pipeline, late)  # the first edit's webhook, arriving now
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "second"}
    assert change.field_edited_at.get("title", change.edited_at) >= second_at


async def test_a_late_notice_dates_the_value_it_set_while_the_item_still_holds_it(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    renamed_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    described_at = renamed_at + timedelta(hours=2)
    late = fake.edit(item_id, title="renamed", at=renamed_at)
    fake.edit(item_id, description="later", at=described_at)  # another field, edited since
    await observations.observe(rig.pipeline, late)
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "renamed", "description": "later"}
    # The title still holds what the late action set: that action's date is its edit time,
    # not the item's last activity (the description's edit).
    assert change.field_edited_at["title"] == renamed_at


# g. A write whose process died after the provider took it, then a state back at the base ------
async def test_a_task_reverted_after_a_crashed_write_has_the_item_read_and_written_back(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await rig.relay()

    def the_process_dies() -> Exception:
        return RuntimeError("the process dies here")

    # The provider completes the item; the process dies before saving the new base.
    fake.fail_next("update", after_effect=True, error=the_process_dies)
    with pytest.raises(RuntimeError):
        await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, completed=True))
    rig.restart()
    # The person reopened the task in core before the connector came back: the newest state
    # equals the link's old base, but not what the item holds.
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, completed=False))
    await observations.observe(rig.pipeline, fake.notice(item_id))
    await rig.relay()

    assert fake.items[item_id].fields.completed is False, "the reopening must reach the item"
    assert fake.update_count == 2
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.completed is False
    assert link.state.synced_clock == VectorClock({"core": 3})
    # The crashed write is ours, not a person's: nothing goes back to core.
    assert rig.events(ProviderItemChanged) == []
