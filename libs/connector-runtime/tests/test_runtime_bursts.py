"""Held work: changes arriving within a second of a link's write are held and go in one write
at the window's end; a quiet link's change is written at once; a write whose rate-limit budget
is spent is held until it has room. Held work is durable and announces nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tether_connector_runtime.pipeline import retries, writes
from tether_connector_runtime.ratelimit import BudgetSpent
from tether_connector_runtime.testing import FakeProvider, ManualClock, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import LinkChanged

WINDOW = 1.0


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(
        fake,
        f"sqlite+aiosqlite:///{tmp_path}/connector.db",
        clock=ManualClock(),
        burst_window=WINDOW,
    ) as started:
        yield started


async def _edit(rig: PipelineRig, version: int, title: str) -> None:
    await writes.on_task_changed(rig.pipeline, state(version, {"core": version}, title=title))


async def test_twenty_edits_within_a_second_are_two_writes(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await rig.relay()
    announced = len(rig.events(LinkChanged))
    updates = fake.update_count

    for i in range(2, 22):
        await _edit(rig, i, f"Draft {i}")
        rig.clock.advance(0.04)  # twenty edits in 0.8 s

    assert fake.update_count == updates + 1, "the first edit is written at once"
    assert fake.items[item_id].fields.title == "Draft 2"
    assert await retries.retry_due(rig.pipeline) == 0, "the rest wait for the window's end"

    rig.clock.advance(WINDOW)
    assert await retries.retry_due(rig.pipeline) == 1
    assert fake.update_count == updates + 2
    assert fake.items[item_id].fields.title == "Draft 21", "the newest state, once"
    link = await rig.link("link-1")
    assert link.parked is None
    assert link.state is not None
    assert link.state.synced_clock["core"] == 21
    await rig.relay()
    assert len(rig.events(LinkChanged)) == announced, "holding is not a retry: nothing to say"


async def test_a_change_after_the_window_is_written_at_once(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    updates = fake.update_count
    await _edit(rig, 2, "First")
    rig.clock.advance(WINDOW + 0.01)
    await _edit(rig, 3, "Second")
    assert fake.update_count == updates + 2
    assert fake.items[item_id].fields.title == "Second"
    assert (await rig.link("link-1")).parked is None


async def test_held_work_outlives_the_process(rig: PipelineRig, fake: FakeProvider) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await _edit(rig, 2, "Written")
    await _edit(rig, 3, "Held")
    rig.restart()  # the process dies with a change held
    rig.clock.advance(WINDOW)
    assert await retries.retry_due(rig.pipeline) == 1
    assert fake.items[item_id].fields.title == "Held"


async def test_a_held_write_that_fails_is_parked_as_a_retry_with_a_time_limit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    await _edit(rig, 2, "Written")
    await _edit(rig, 3, "Held")
    assert (await rig.link("link-1")).parked is not None
    fake.fail_next("update")
    rig.clock.advance(WINDOW)
    await retries.retry_due(rig.pipeline)
    link = await rig.link("link-1")
    assert link.parked is not None
    assert link.parked.attempts == 1
    assert link.parked.retry_until is not None, "a failure's retries are bounded"
    await rig.relay()
    assert [e.status for e in rig.events(LinkChanged)][-1] == "retrying"


async def test_a_deletion_is_not_held(rig: PipelineRig, fake: FakeProvider) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await _edit(rig, 2, "Written")
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, deleted=True))
    assert fake.items[item_id].closed


def _spent(seconds: float) -> Callable[[], Exception]:
    return lambda: BudgetSpent("rate-limit budget spent", retry_after=seconds)


async def test_a_write_whose_budget_is_spent_is_held_until_it_has_room(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """Nobody waits behind it: the event is done with, the link's work held, nothing said."""
    item_id = await exported(rig, state(1, {"core": 1}))
    await rig.relay()
    announced = len(rig.events(LinkChanged))
    fake.fail_next("update", error=_spent(8.0))
    await _edit(rig, 2, "Later")
    link = await rig.link("link-1")
    assert link.parked is not None
    assert link.parked.retry_until is None, "held, not failed"
    assert link.parked.next_attempt_at == rig.clock.now + timedelta(seconds=8)
    await _edit(rig, 3, "Newer still")  # waits with the held work
    rig.clock.advance(8)
    assert await retries.retry_due(rig.pipeline) == 1
    assert fake.items[item_id].fields.title == "Newer still"
    assert (await rig.link("link-1")).parked is None
    await rig.relay()
    assert len(rig.events(LinkChanged)) == announced


async def test_a_retry_whose_budget_is_spent_stays_a_bounded_retry(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    fake.fail_next("update")  # a 503: parked, attempt 1
    await _edit(rig, 2, "Later")
    parked = (await rig.link("link-1")).parked
    assert parked is not None
    assert parked.retry_until is not None
    fake.fail_next("update", error=_spent(30.0))
    rig.clock.advance(60)
    await retries.retry_due(rig.pipeline)
    again = (await rig.link("link-1")).parked
    assert again is not None
    assert again.attempts == parked.attempts, "a spent budget is not a failed attempt"
    assert again.retry_until == parked.retry_until
    assert again.next_attempt_at == rig.clock.now + timedelta(seconds=30)
