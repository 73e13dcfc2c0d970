from datetime import date

from tether_events.clock import VectorClock
from tether_sync import (
    ArchiveProviderCopy,
    LinkState,
    Skip,
    SkipReason,
    TaskFields,
    TaskSnapshot,
    WritePlan,
    after_write,
    coalesce,
    decide_outbound,
)

BASE = TaskFields(title="Plan", description="notes", due=date(2025, 3, 1))


def _link(clock: dict[str, int], fields: TaskFields = BASE) -> LinkState:
    return LinkState(
        link_id="l1",
        task_id="t1",
        replica="trello:c1",
        synced_clock=VectorClock(clock),
        synced_fields=fields,
    )


def _snapshot(clock: dict[str, int], deleted: bool = False, **values: object) -> TaskSnapshot:
    fields = BASE.model_copy(update=values)
    return TaskSnapshot(task_id="t1", fields=fields, clock=VectorClock(clock), deleted=deleted)


def test_a_duplicate_or_stale_snapshot_is_dropped() -> None:
    link = _link({"core": 3})
    assert decide_outbound(link, _snapshot({"core": 3}, title="x")) == Skip(
        reason=SkipReason.ALREADY_REFLECTED
    )
    assert decide_outbound(link, _snapshot({"core": 2}, title="x")) == Skip(
        reason=SkipReason.ALREADY_REFLECTED
    )


def test_a_snapshot_before_core_merged_this_links_change_waits_for_the_merge() -> None:
    link = _link({"core": 3, "trello:c1": 1})
    decision = decide_outbound(link, _snapshot({"core": 4}, title="x"))
    assert decision == Skip(reason=SkipReason.AWAITING_MERGE)


def test_only_the_fields_that_differ_from_the_base_are_written() -> None:
    link = _link({"core": 3})
    decision = decide_outbound(link, _snapshot({"core": 5}, title="Plan B", completed=True))
    assert isinstance(decision, WritePlan)
    assert decision.changes == {"title": "Plan B", "completed": True}


def test_a_snapshot_equal_to_the_base_plans_no_write_but_advances_the_link() -> None:
    link = _link({"core": 3})
    decision = decide_outbound(link, _snapshot({"core": 4, "asana:9": 1}))
    assert isinstance(decision, WritePlan)
    assert decision.is_empty
    after = after_write(link, decision)
    assert after.synced_clock == VectorClock({"core": 4, "asana:9": 1})
    assert after.synced_fields == BASE


def test_after_a_write_the_written_state_is_the_base_and_the_clocks_merge() -> None:
    link = _link({"core": 3, "trello:c1": 1})
    decision = decide_outbound(link, _snapshot({"core": 5, "trello:c1": 1}, title="Plan B"))
    assert isinstance(decision, WritePlan)
    after = after_write(link, decision)
    assert after.synced_fields.title == "Plan B"
    assert after.synced_clock == VectorClock({"core": 5, "trello:c1": 1})
    assert decide_outbound(after, _snapshot({"core": 5, "trello:c1": 1}, title="Plan B")) == Skip(
        reason=SkipReason.ALREADY_REFLECTED
    )


def test_waiting_snapshots_coalesce_into_the_latest() -> None:
    snapshots = [
        _snapshot({"core": 4}, title="b"),
        _snapshot({"core": 6}, title="d"),
        _snapshot({"core": 5}, title="c"),
    ]
    assert coalesce(snapshots).fields.title == "d"
    decision = decide_outbound(_link({"core": 3}), coalesce(snapshots))
    assert isinstance(decision, WritePlan)
    assert decision.changes == {"title": "d"}


def test_coalescing_concurrent_snapshots_is_deterministic_and_keeps_the_chosen_clock() -> None:
    a = _snapshot({"core": 4, "asana:1": 1}, title="a")
    b = _snapshot({"core": 5}, title="b")
    chosen = coalesce([a, b])
    assert chosen == coalesce([b, a])
    assert chosen in (a, b)


def test_a_deleted_task_archives_the_provider_copy_even_with_a_change_in_flight() -> None:
    link = _link({"core": 3, "trello:c1": 1})
    decision = decide_outbound(link, _snapshot({"core": 4}, deleted=True))
    assert decision == ArchiveProviderCopy(task_id="t1", link_id="l1", replica="trello:c1")
    stale = decide_outbound(link, _snapshot({"core": 3}, deleted=True))
    assert stale == Skip(reason=SkipReason.ALREADY_REFLECTED)


def test_a_write_plan_survives_json_with_its_dates() -> None:
    decision = decide_outbound(_link({"core": 1}), _snapshot({"core": 2}, due=None))
    assert isinstance(decision, WritePlan)
    moved = decide_outbound(_link({"core": 1}), _snapshot({"core": 2}, due=date(2025, 5, 1)))
    assert isinstance(moved, WritePlan)
    for plan in (decision, moved):
        assert WritePlan.model_validate_json(plan.model_dump_json()) == plan
