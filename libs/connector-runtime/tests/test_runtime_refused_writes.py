"""A write the provider refuses for good (a 400 that will recur, Jira's workflow with no way to
a done status): recorded on the link, which stays active and keeps syncing; the refused value
is not claimed written, so it is offered again and never published back over core's; the next
write that goes through clears the error, once.

The fake refuses a field as Jira refuses a transition: the other fields of the call are
written, then the call fails with a 400 (``FakeProvider.refuse``).
"""

from __future__ import annotations

import asyncio

from tether_connector_runtime.pipeline import observations, retries, writes
from tether_connector_runtime.retry import PermanentProviderError
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import BOARD, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import LinkChanged, ProviderItemChanged, VectorClock

WORDS = "Jira's workflow offers no way to a done status from status To Do"


async def refused_once(rig: PipelineRig, fake: FakeProvider) -> str:
    """A task exported, then completed (and renamed) in core while the provider refuses to
    complete it; returns the item's id."""
    item_id = await exported(rig, state(1, {"core": 1}))
    fake.refuse("completed", WORDS)
    done = state(2, {"core": 2}, completed=True, title="Plan the week!")
    await writes.on_task_changed(rig.pipeline, done)
    await rig.relay()
    return item_id


def statuses(rig: PipelineRig) -> list[tuple[str, str | None]]:
    return [(e.status, e.error) for e in rig.events(LinkChanged)]


async def test_a_refused_write_leaves_the_link_active_with_the_providers_words(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)

    link = await rig.link("link-1")
    assert (link.status, link.refusal, link.parked) == ("active", WORDS, None)
    assert statuses(rig) == [("active", None), ("active", WORDS)]
    # No clock on the refusal: core must not take it for an item behind and re-send the
    # refused state at once (a loop of refusals).
    assert rig.events(LinkChanged)[-1].synced_clock is None
    # Nothing claims the refused value was written: the base and clock are the old ones.
    assert link.state is not None
    assert link.state.synced_fields.completed is False
    assert link.state.synced_clock == VectorClock({"core": 1})
    # The provider took the title (the rest of the call), not the completion.
    assert (fake.items[item_id].fields.title, fake.items[item_id].fields.completed) == (
        "Plan the week!",
        False,
    )
    # Not retried: neither in place nor parked for the retrier, however long one waits.
    assert fake.calls["update"] == 1
    rig.clock.advance(rig.pipeline.retry.limit * 2)
    assert await retries.retry_due(rig.pipeline) == 0
    assert fake.calls["update"] == 1


async def test_the_item_after_a_refusal_publishes_no_old_value_over_cores(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)
    # The webhook of the part the provider took: our own write, not a person's edit.
    await observations.observe(rig.pipeline, fake.notice(item_id))
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.title == "Plan the week!"
    assert link.state.synced_fields.completed is False  # still what the item holds

    # A person's edit of another field goes to core on its own: the item's "not completed"
    # is the base, not news that would reopen the task core completed.
    await observations.observe(rig.pipeline, fake.edit(item_id, description="Agenda"))
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert (change.base_values, change.new_values) == (
        {"description": ""},
        {"description": "Agenda"},
    )
    assert statuses(rig)[-1] == ("active", WORDS)  # the refusal still stands


async def test_the_refused_value_goes_with_each_later_change_and_clears_once_written(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)
    p = rig.pipeline

    # A later edit still reaches the item; the completion is asked again and refused again in
    # the same words: nothing new to tell core.
    await writes.on_task_changed(
        p, state(3, {"core": 3}, completed=True, title="Plan the week!", description="Agenda")
    )
    await rig.relay()
    assert fake.items[item_id].fields.description == "Agenda"
    assert fake.items[item_id].fields.completed is False
    assert statuses(rig) == [("active", None), ("active", WORDS)]

    fake.accept("completed")  # a person mapped the done status, or changed the workflow
    await writes.on_task_changed(
        p, state(4, {"core": 4}, completed=True, title="Plan", description="Agenda")
    )
    await rig.relay()
    assert fake.updates[-1].changes == {"completed": True, "title": "Plan"}
    assert fake.items[item_id].fields.completed is True
    link = await rig.link("link-1")
    assert link.refusal is None
    assert link.state is not None
    assert link.state.synced_clock == VectorClock({"core": 4})
    assert statuses(rig) == [("active", None), ("active", WORDS), ("active", None)]

    # Later writes say nothing more about the link.
    await writes.on_task_changed(
        p, state(5, {"core": 5}, completed=True, title="Plan!", description="Agenda")
    )
    await rig.relay()
    assert fake.items[item_id].fields.title == "Plan!"
    assert len(rig.events(LinkChanged)) == 3


async def test_the_refused_state_sent_again_is_written_once_the_provider_takes_it(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)
    fake.accept("completed")
    # The same state again (redelivered, or re-sent by core): not taken for reflected.
    await writes.on_task_changed(
        rig.pipeline, state(2, {"core": 2}, completed=True, title="Plan the week!")
    )
    await rig.relay()
    assert fake.items[item_id].fields.completed is True
    assert statuses(rig)[-1] == ("active", None)
    assert (await rig.link("link-1")).refusal is None


async def test_a_person_doing_what_was_refused_clears_the_error(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)
    # A person completes the item in the provider's own UI: the whole write is there now.
    await observations.observe(rig.pipeline, fake.edit(item_id, completed=True))
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []  # core holds these values already
    link = await rig.link("link-1")
    assert link.refusal is None
    assert link.state is not None
    assert link.state.synced_clock == VectorClock({"core": 2})
    assert statuses(rig) == [("active", None), ("active", WORDS), ("active", None)]


async def test_a_task_that_no_longer_asks_for_the_refused_value_clears_the_error(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await refused_once(rig, fake)
    # Core reopens the task: what was refused is asked for no more.
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, title="Plan the week!"))
    await rig.relay()
    link = await rig.link("link-1")
    assert link.refusal is None
    assert statuses(rig)[-1] == ("active", None)
    assert fake.calls["update"] == 1  # the title was on the item already: nothing to write


async def test_a_task_reverted_after_a_partly_taken_refusal_gets_its_values_back(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await refused_once(rig, fake)  # the item took the new title, not the completion
    # Core goes back to the exported state: nothing differs from the base, but the item holds
    # part of the refused write, so it is read, and given the old title back.
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}))
    await rig.relay()
    assert fake.items[item_id].fields.title == "Plan the week"
    assert statuses(rig)[-1] == ("active", None)
    # Nothing of the refused write comes back to core as a person's edit.
    await observations.observe(rig.pipeline, fake.notice(item_id))
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []


async def test_a_retried_write_refused_for_good_ends_its_retries(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    p = rig.pipeline
    fake.fail_container(BOARD)
    await writes.on_task_changed(p, state(2, {"core": 2}, completed=True))
    assert (await rig.link("link-1")).parked is not None

    fake.heal_container(BOARD)
    fake.refuse("completed", WORDS)
    rig.clock.advance(p.retry.base)
    assert await retries.retry_due(p) == 1
    await rig.relay()

    link = await rig.link("link-1")
    assert (link.status, link.parked, link.refusal) == ("active", None, WORDS)
    assert [s for s, _ in statuses(rig)] == ["active", "retrying", "active"]
    assert statuses(rig)[-1] == ("active", WORDS)
    rig.clock.advance(p.retry.limit * 2)
    assert await retries.retry_due(p) == 0


async def test_reconnecting_the_account_repeats_a_refusal_that_stands(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await refused_once(rig, fake)
    await rig.connect("acme", "tok-a")  # the same account again: the connection is repaired
    await rig.relay()
    repaired = rig.events(LinkChanged)[-1]
    assert (repaired.status, repaired.error) == ("active", WORDS)


async def test_a_404_for_what_the_write_names_is_a_refusal(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    fake.fail_next("update", error=lambda: PermanentProviderError("no such list", status=404))
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()
    link = await rig.link("link-1")
    assert (link.status, link.refusal) == ("active", "no such list")
    assert fake.calls["read"] == 2  # read again: the item is there, so it is not gone


async def test_a_404_for_an_item_deleted_during_the_write_unlinks(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    updating = fake.hold("update")
    write = asyncio.create_task(
        writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    )
    await updating.wait_reached()
    fake.delete(item_id)  # a person deletes it while our update is on its way
    updating.release()
    await write
    await rig.relay()

    assert (await rig.link("link-1")).status == "unlinked"
    (gone,) = rig.events(ProviderItemChanged)
    assert gone.deleted
    assert [e.status for e in rig.events(LinkChanged)] == ["active"]
