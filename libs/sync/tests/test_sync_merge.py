from datetime import UTC, date, datetime, timedelta

import pytest

from tether_events.clock import VectorClock
from tether_sync import (
    Conflict,
    ConflictPolicy,
    CoreTask,
    FieldStamp,
    MergeStatus,
    ProviderChange,
    SyncPolicy,
    TaskFields,
    apply_core_edit,
    merge_provider_change,
)

T0 = datetime(2025, 2, 1, 9, tzinfo=UTC)
BASE = TaskFields(title="Plan", description="notes", due=date(2025, 3, 1))
TASK = CoreTask.create("t1", BASE, at=T0)  # clock {core: 1}


def _change(
    base: dict[str, object],
    new: dict[str, object],
    *,
    clock: dict[str, int] | None = None,
    replica: str = "trello:c1",
    at: datetime = T0 + timedelta(minutes=10),
    field_at: dict[str, datetime] | None = None,
) -> ProviderChange:
    return ProviderChange.model_validate(
        {
            "task_id": "t1",
            "link_id": "l1",
            "replica": replica,
            "base_clock": clock or {"core": 1},
            "base_values": base,
            "new_values": new,
            "edited_at": at,
            "field_edited_at": field_at or {},
        }
    )


def test_a_field_core_did_not_touch_takes_the_provider_value() -> None:
    outcome = merge_provider_change(TASK, _change({"title": "Plan"}, {"title": "B"}), now=T0)
    assert outcome.status is MergeStatus.APPLIED
    assert outcome.task.fields.title == "B"
    assert outcome.changed == ("title",)
    assert outcome.conflicts == ()
    assert outcome.task.stamps["title"] == FieldStamp(
        replica="trello:c1", edited_at=T0 + timedelta(minutes=10)
    )


def test_the_clock_takes_the_pointwise_max_with_the_providers_event_then_bumps_core() -> None:
    task = apply_core_edit(TASK, {"description": "more"}, at=T0)  # {core: 2}
    change = _change({"title": "Plan"}, {"title": "B"}, clock={"core": 1})
    outcome = merge_provider_change(task, change, now=T0)
    assert outcome.task.clock == VectorClock({"core": 3, "trello:c1": 1})


def test_a_field_already_equal_to_the_new_value_is_left_alone() -> None:
    task = apply_core_edit(TASK, {"title": "B"}, at=T0)
    outcome = merge_provider_change(task, _change({"title": "Plan"}, {"title": "B"}), now=T0)
    assert outcome.status is MergeStatus.APPLIED
    assert outcome.changed == ()
    assert outcome.conflicts == ()
    assert outcome.task.clock == VectorClock({"core": 3, "trello:c1": 1})


def test_concurrent_different_edits_conflict_and_the_later_edit_wins() -> None:
    task = apply_core_edit(TASK, {"title": "A"}, at=T0 + timedelta(minutes=5))
    later = merge_provider_change(task, _change({"title": "Plan"}, {"title": "B"}), now=T0)
    assert later.task.fields.title == "B"
    assert later.conflicts == (
        Conflict(
            task_id="t1",
            field="title",
            base_value="Plan",
            core_value="A",
            provider_value="B",
            core_replica="core",
            provider_replica="trello:c1",
            winner="trello:c1",
            winning_value="B",
            policy=ConflictPolicy.LATEST_WINS,
            resolved_at=T0,
        ),
    )
    earlier = _change({"title": "Plan"}, {"title": "B"}, at=T0 + timedelta(minutes=1))
    outcome = merge_provider_change(task, earlier, now=T0)
    assert outcome.task.fields.title == "A"
    assert outcome.conflicts[0].winner == "core"
    assert outcome.task.stamps["title"].replica == "core"


def test_a_timestamp_tie_is_broken_by_replica_id() -> None:
    at = T0 + timedelta(minutes=5)
    task = apply_core_edit(TASK, {"title": "A"}, at=at)
    trello = merge_provider_change(task, _change({"title": "Plan"}, {"title": "B"}, at=at), now=T0)
    assert trello.conflicts[0].winner == "trello:c1"  # the greater id wins: "trello:c1" > "core"
    asana = _change({"title": "Plan"}, {"title": "B"}, at=at, replica="asana:1")
    assert merge_provider_change(task, asana, now=T0).conflicts[0].winner == "core"


def test_a_fields_own_edit_time_decides_over_the_items_later_modification() -> None:
    # Core set the title at +5 min; the provider's title was set at +2 min, and the item was
    # modified again at +10 min (another field, a comment): the title edit is the earlier one.
    task = apply_core_edit(TASK, {"title": "A"}, at=T0 + timedelta(minutes=5))
    change = _change(
        {"title": "Plan"},
        {"title": "B"},
        at=T0 + timedelta(minutes=10),
        field_at={"title": T0 + timedelta(minutes=2)},
    )
    outcome = merge_provider_change(task, change, now=T0)
    assert outcome.task.fields.title == "A"
    assert [(c.winner, c.winning_value) for c in outcome.conflicts] == [("core", "A")]
    assert outcome.task.stamps["title"] == FieldStamp(
        replica="core", edited_at=T0 + timedelta(minutes=5)
    )


def test_a_fields_own_later_edit_time_wins_over_an_earlier_item_time() -> None:
    task = apply_core_edit(TASK, {"title": "A"}, at=T0 + timedelta(minutes=5))
    change = _change(
        {"title": "Plan"},
        {"title": "B"},
        at=T0 + timedelta(minutes=1),
        field_at={"title": T0 + timedelta(minutes=10)},
    )
    outcome = merge_provider_change(task, change, now=T0)
    assert outcome.task.fields.title == "B"
    assert [(c.winner, c.winning_value) for c in outcome.conflicts] == [("trello:c1", "B")]
    # The stamp keeps the field's own time, so the next conflict compares with it.
    assert outcome.task.stamps["title"] == FieldStamp(
        replica="trello:c1", edited_at=T0 + timedelta(minutes=10)
    )


def test_a_field_without_its_own_edit_time_takes_the_items_time() -> None:
    at = T0 + timedelta(minutes=5)
    task = apply_core_edit(TASK, {"title": "A", "description": "X"}, at=at)
    change = _change(
        {"title": "Plan", "description": "notes"},
        {"title": "B", "description": "Y"},
        at=T0 + timedelta(minutes=10),
        field_at={"title": T0 + timedelta(minutes=2)},
    )
    outcome = merge_provider_change(task, change, now=T0)
    # title: its own time (+2) is before core's (+5); description: the item's (+10) is after.
    assert (outcome.task.fields.title, outcome.task.fields.description) == ("A", "Y")
    assert {c.field: c.winner for c in outcome.conflicts} == {
        "title": "core",
        "description": "trello:c1",
    }
    assert outcome.task.stamps["description"] == FieldStamp(
        replica="trello:c1", edited_at=T0 + timedelta(minutes=10)
    )
    assert change.edited_at_of("description") == change.edited_at


def test_the_policy_is_chosen_per_field() -> None:
    policy = SyncPolicy(per_field={"title": ConflictPolicy.CORE_WINS})
    task = apply_core_edit(TASK, {"title": "A", "description": "X"}, at=T0)
    change = _change(
        {"title": "Plan", "description": "notes"},
        {"title": "B", "description": "Y"},
        at=T0 - timedelta(days=1),
    )
    outcome = merge_provider_change(task, change, policy, now=T0)
    assert outcome.task.fields.title == "A"  # core_wins
    assert outcome.task.fields.description == "X"  # latest_wins: core's edit is later
    provider = SyncPolicy(default=ConflictPolicy.PROVIDER_WINS)
    outcome = merge_provider_change(task, change, provider, now=T0)
    assert (outcome.task.fields.title, outcome.task.fields.description) == ("B", "Y")


def test_a_change_already_merged_is_a_duplicate() -> None:
    change = _change({"title": "Plan"}, {"title": "B"})
    merged = merge_provider_change(TASK, change, now=T0).task
    again = merge_provider_change(merged, change, now=T0)
    assert again.status is MergeStatus.DUPLICATE
    assert again.task == merged


def test_a_change_whose_predecessor_is_missing_waits() -> None:
    second = _change({"title": "B"}, {"title": "C"}, clock={"core": 1, "trello:c1": 1})
    outcome = merge_provider_change(TASK, second, now=T0)
    assert outcome.status is MergeStatus.NOT_READY
    assert outcome.task == TASK


def test_a_core_edit_bumps_core_and_stamps_only_what_changed() -> None:
    at = T0 + timedelta(hours=1)
    task = apply_core_edit(TASK, {"title": "A", "description": "notes"}, at=at)
    assert task.clock == VectorClock({"core": 2})
    assert task.stamps["title"] == FieldStamp(replica="core", edited_at=at)
    assert task.stamps["description"] == FieldStamp(replica="core", edited_at=T0)
    assert apply_core_edit(task, {"title": "A"}, at=at) is task


def test_a_change_of_another_task_is_refused() -> None:
    change = _change({"title": "Plan"}, {"title": "B"}).model_copy(update={"task_id": "t2"})
    with pytest.raises(ValueError, match="merged into task t1"):
        merge_provider_change(TASK, change, now=T0)
