"""A provider copy that holds core's value cut to the provider's limit (with an ellipsis) is
core's value as far as the merge goes: a person editing the cut text makes a plain provider
edit, applied without a conflict whatever the policy; an edit of core's value that the cut
shows still makes a concurrent edit a conflict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tether_events.clock import VectorClock
from tether_sync import (
    ConflictPolicy,
    CoreTask,
    LinkState,
    MergeStatus,
    ProviderChange,
    SyncPolicy,
    TaskFields,
    apply_core_edit,
    decide_inbound,
    merge_provider_change,
)
from tether_sync.lengths import ELLIPSIS, holds_as_much_as_fits, shortened

T0 = datetime(2026, 2, 1, 9, tzinfo=UTC)
LIMIT = 20
LONG = "Plan the week: " + "w" * 40  # 55 characters, over the limit
CUT = LONG[: LIMIT - 1] + ELLIPSIS  # what the connector wrote and keeps as the link's base
CORE_WINS = SyncPolicy(default=ConflictPolicy.CORE_WINS)


def change(base: str, new: str, limits: dict[str, int] | None) -> ProviderChange:
    return ProviderChange.model_validate(
        {
            "task_id": "t1",
            "link_id": "l1",
            "replica": "jira:acme/TT-1",
            "base_clock": {"core": 1},
            "base_values": {"title": base},
            "new_values": {"title": new},
            "edited_at": T0 + timedelta(minutes=10),
            **({"field_limits": limits} if limits is not None else {}),
        }
    )


def task_titled(title: str) -> CoreTask:
    return CoreTask.create("t1", TaskFields(title=title), at=T0)  # clock {core: 1}


def test_a_persons_edit_of_the_cut_value_is_applied_with_no_conflict_even_if_core_wins() -> None:
    outcome = merge_provider_change(
        task_titled(LONG), change(CUT, "Plan the month", {"title": LIMIT}), CORE_WINS, now=T0
    )
    assert outcome.status is MergeStatus.APPLIED
    assert outcome.task.fields.title == "Plan the month"
    assert outcome.changed == ("title",)
    assert outcome.conflicts == ()


def test_a_core_edit_the_cut_shows_and_a_persons_edit_are_still_a_conflict() -> None:
    # Core's new value cuts to another text than the copy's base: both sides edited.
    task = apply_core_edit(task_titled(LONG), {"title": "Replan: " + "x" * 40}, at=T0)
    outcome = merge_provider_change(
        task, change(CUT, "Plan the month", {"title": LIMIT}), CORE_WINS, now=T0
    )
    [conflict] = outcome.conflicts
    assert (conflict.base_value, conflict.provider_value) == (CUT, "Plan the month")
    assert outcome.task.fields.title == "Replan: " + "x" * 40  # core_wins kept core's edit


def test_text_that_only_ends_in_an_ellipsis_is_not_taken_for_a_cut() -> None:
    # A person's own "Call mom about…", extended in core while they edited it in the copy:
    # a real concurrent edit, however it looks, because it is not core's value cut at 20.
    task = apply_core_edit(task_titled("Call mom about…"), {"title": "Call mom about it"}, at=T0)
    outcome = merge_provider_change(
        task, change("Call mom about…", "Call dad", {"title": LIMIT}), CORE_WINS, now=T0
    )
    assert [c.field for c in outcome.conflicts] == ["title"]
    assert outcome.task.fields.title == "Call mom about it"


def test_a_change_from_a_connector_that_names_no_limit_merges_as_before() -> None:
    outcome = merge_provider_change(
        task_titled(LONG), change(CUT, "Plan the month", None), CORE_WINS, now=T0
    )
    assert [c.field for c in outcome.conflicts] == ["title"]
    assert outcome.task.fields.title == LONG


def test_a_published_change_carries_the_limits_of_its_changed_fields_only() -> None:
    link = LinkState(
        link_id="l1",
        task_id="t1",
        replica="jira:acme/TT-1",
        synced_clock=VectorClock({"core": 1}),
        synced_fields=TaskFields(title=CUT, description="notes"),
    )
    observed = TaskFields(title="Plan the month", description="notes")
    published = decide_inbound(
        link, observed, edited_at=T0, field_limits={"title": LIMIT, "description": 30}
    )
    assert published is not None
    assert published.field_limits == {"title": LIMIT}
    again = ProviderChange.model_validate_json(published.model_dump_json())
    assert again.field_limits == {"title": LIMIT}


@given(whole=st.text(min_size=1), limit=st.integers(1, 40))
def test_the_cut_of_a_value_at_the_limit_holds_as_much_of_it_as_fits(
    whole: str, limit: int
) -> None:
    assert holds_as_much_as_fits(shortened(whole, limit), whole, limit)
    assert holds_as_much_as_fits(whole, whole, None)


BMP = st.text(st.characters(max_codepoint=0xFFFF), min_size=1)


@given(whole=BMP, limit=st.integers(2, 40))
def test_a_cut_at_another_limit_is_not_taken_for_the_value(whole: str, limit: int) -> None:
    # Only the very cut the provider's limit makes stands for the value: one a unit shorter
    # (a person deleting the last letter before the ellipsis) is an edit.
    shorter = shortened(whole, limit - 1)
    assert holds_as_much_as_fits(shorter, whole, limit) == (len(whole) <= limit - 1)
