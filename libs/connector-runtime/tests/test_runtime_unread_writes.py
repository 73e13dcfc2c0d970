"""Unread writes (port.UnreadWrites, Trello): a core edit costs one call, the write; a
person's edit the write lands on before its notice arrives is published from that notice (a
webhook, or a poll's earlier edits) as an edit concurrent with ours, once; an edit the base
already reflected is not."""

from __future__ import annotations

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import observations, reconcile, retries, writes
from tether_connector_runtime.places import MappedPlace, StatusMapping
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.ratelimit import BudgetSpent
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import ProviderItemChanged

BOARD = "board-1"


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("trello", writes_unread=True)
    provider.add_container(BOARD)
    return provider


async def _replica(rig: PipelineRig) -> str:
    link = await rig.link("link-1")
    assert link.state is not None
    return link.state.replica


async def test_a_core_edit_is_one_call_and_its_echo_none(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    calls = sum(fake.calls.values())

    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed in core"))
    (_, echo) = fake.changes[-1]
    await observations.observe(rig.pipeline, echo)
    await rig.relay()

    assert sum(fake.calls.values()) == calls + 1
    assert fake.calls["update"] == 1
    assert fake.calls["read"] == 0
    assert fake.items[item_id].fields.title == "Renamed in core"
    assert rig.events(ProviderItemChanged) == []


async def test_an_edit_the_write_overwrote_is_published_from_its_late_notice(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    person = fake.edit(item_id, title="Renamed by a person")  # its webhook is late
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed in core"))
    assert fake.items[item_id].fields.title == "Renamed in core", "written over, unseen"

    await observations.observe(rig.pipeline, person)
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.base_values == {"title": "Plan the week"}, "against the base it was made on"
    assert change.new_values == {"title": "Renamed by a person"}
    assert change.field_edited_at == {"title": person.field_edited_at["title"]}
    assert change.base_clock.to_dict() == {"core": 2}, "concurrent with the edit we wrote"
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.title == "Renamed in core", "what the item holds"
    assert link.state.synced_clock[await _replica(rig)] == 1

    await observations.observe(rig.pipeline, person)  # delivered again
    await rig.relay()
    assert len(rig.events(ProviderItemChanged)) == 1, "published once"


async def test_a_poll_finds_the_overwritten_edit_among_earlier_edits(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await reconcile.reconcile_once(rig.pipeline)  # the board's cursor: from now on
    await rig.relay()
    fake.edit(item_id, title="Renamed by a person")  # its webhook never comes
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed in core"))

    await reconcile.reconcile_once(rig.pipeline)
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed by a person"}
    assert change.base_values == {"title": "Plan the week"}


async def test_an_edit_the_base_already_reflected_is_not_taken_for_overwritten(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    first = fake.edit(item_id, title="First")
    await observations.observe(rig.pipeline, first)
    second = fake.edit(item_id, title="Second")
    await observations.observe(rig.pipeline, second)
    await rig.relay()
    assert len(rig.events(ProviderItemChanged)) == 2
    replica = await _replica(rig)
    merged = state(4, {"core": 3, replica: 2}, title="Renamed in core")
    await writes.on_task_changed(rig.pipeline, merged)
    assert fake.items[item_id].fields.title == "Renamed in core"

    await observations.observe(rig.pipeline, first)  # a late duplicate of an old edit
    await rig.relay()

    assert len(rig.events(ProviderItemChanged)) == 2, "the last read saw it: nothing new"


async def _exported_with_a_status_mapping(rig: PipelineRig) -> str:
    """Export task-1 (into BOARD/todo), its connection mapping BOARD/done to done; its item."""
    item_id = await exported(rig, state(1, {"core": 1}))
    link = await rig.link("link-1")
    mapping = StatusMapping(
        places={
            f"{BOARD}/todo": MappedPlace(container_id=BOARD, completed=False),
            f"{BOARD}/done": MappedPlace(container_id=BOARD, completed=True),
        }
    )
    async with transaction(rig.pipeline.sessions) as session:
        await rig.pipeline.repo.set_list_mapping(session, link.connection_id, mapping.to_stored())
    return item_id


async def test_a_completion_with_a_status_mapping_reads_the_item_for_its_place(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await _exported_with_a_status_mapping(rig)

    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, completed=True))

    assert fake.calls["read"] == 1, "the item's place says whether it must move"
    assert fake.items[item_id].place_id == f"{BOARD}/done"


async def test_a_write_whose_budget_is_spent_is_later_written_unread(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """Refused before it was sent, the write leaves no intent: the held work needs no read."""
    item_id = await exported(rig, state(1, {"core": 1}))
    fake.fail_next("update", error=lambda: BudgetSpent("budget spent", retry_after=5.0))
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Held"))
    link = await rig.link("link-1")
    assert link.parked is not None
    assert link.intent is None

    rig.clock.advance(5.0)
    assert await retries.retry_due(rig.pipeline) == 1
    assert fake.items[item_id].fields.title == "Held"
    assert fake.calls["read"] == 0


async def _published_from_its_notice(rig: PipelineRig, person: ItemNotice) -> None:
    """The person's rename, published once its own notice is observed, dated by it."""
    await observations.observe(rig.pipeline, person)
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed by a person"}
    assert change.field_edited_at == {"title": person.field_edited_at["title"]}


def _the_process_dies() -> Exception:
    return RuntimeError("the process dies here")


async def _killed_after_writing_over_an_edit(
    rig: PipelineRig, fake: FakeProvider
) -> tuple[str, ItemNotice]:
    """A person renames the item (their webhook late); core's description is written and the
    process killed once the provider took it. The item's id and the person's notice."""
    item_id = await exported(rig, state(1, {"core": 1}))
    person = fake.edit(item_id, title="Renamed by a person")
    fake.fail_next("update", after_effect=True, error=_the_process_dies)
    with pytest.raises(RuntimeError):
        await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, description="Notes"))
    rig.restart()
    return item_id, person


async def test_a_write_found_landed_after_a_crash_leaves_a_persons_edit_to_its_notice(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """Killed after the provider took a write, the next write reads the item to settle it. The
    item's last activity is then our write's, later than the person's edit under it: published
    from that read, the edit would be dated as if made after core's. It is left to its notice,
    which dates it, and found there although the next write landed on it."""
    item_id, person = await _killed_after_writing_over_an_edit(rig, fake)
    assert fake.items[item_id].fields.description == "Notes", "the write landed"
    written_at = fake.items[item_id].edited_at
    assert written_at is not None
    assert written_at > person.field_edited_at["title"]

    latest = state(3, {"core": 3}, title="Renamed in core", description="Notes")
    await writes.on_task_changed(rig.pipeline, latest)
    await rig.relay()
    assert fake.calls["read"] == 1, "read to settle the write the crash left"
    assert rig.events(ProviderItemChanged) == [], "nothing dated by our own write"
    assert fake.items[item_id].fields.title == "Renamed in core"

    await observations.observe(rig.pipeline, person)
    await rig.relay()

    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed by a person"}
    assert change.base_values == {"title": "Plan the week"}
    assert change.field_edited_at == {"title": person.field_edited_at["title"]}
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.description == "Notes", "the crashed write settled"
    assert link.state.synced_fields.title == "Renamed in core", "what the item holds"


async def test_after_a_crash_an_edit_of_a_field_not_written_waits_for_its_notice(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id, person = await _killed_after_writing_over_an_edit(rig, fake)

    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, description="More notes"))
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []
    assert fake.items[item_id].fields.title == "Renamed by a person", "not written over"

    await _published_from_its_notice(rig, person)


async def test_the_crashed_writes_own_notice_does_not_date_the_edit_under_it(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    _, person = await _killed_after_writing_over_an_edit(rig, fake)
    (_, own) = fake.changes[-1]
    await observations.observe(rig.pipeline, own)  # settles the write, dates only its field
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []
    link = await rig.link("link-1")
    assert link.intent is None
    assert link.state is not None
    assert link.state.synced_fields.description == "Notes"

    latest = state(3, {"core": 3}, title="Renamed in core", description="Notes")
    await writes.on_task_changed(rig.pipeline, latest)  # written unread, over the rename
    await observations.observe(rig.pipeline, person)
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert change.field_edited_at == {"title": person.field_edited_at["title"]}
    assert change.base_values == {"title": "Plan the week"}


async def test_an_edit_a_notice_does_not_date_waits_for_its_own(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """The notice of our own move (a completion) names when ``completed`` changed, not the
    person's rename under it: that rename, published from this notice, would be dated by our
    write. It waits for its own notice, which dates it."""
    item_id = await _exported_with_a_status_mapping(rig)
    person = fake.edit(item_id, title="Renamed by a person")  # its webhook is late
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, completed=True))
    (_, moved) = fake.changes[-1]
    assert moved.field_values == {}, "a move names no value, as Trello's action"

    await observations.observe(rig.pipeline, moved)
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []

    await _published_from_its_notice(rig, person)


async def test_a_look_with_no_history_dates_what_it_finds_by_the_last_activity(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """Reconciliation with no usable history: no notice may follow, so the item's last
    activity, the only time there is, dates an edit found."""
    item_id = await exported(rig, state(1, {"core": 1}))
    fake.edit(item_id, title="Renamed by a person")  # its notice is lost
    await observations.observe(rig.pipeline, ItemNotice(item_id, history_lost=True))
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed by a person"}
    assert change.edited_at == fake.items[item_id].edited_at
