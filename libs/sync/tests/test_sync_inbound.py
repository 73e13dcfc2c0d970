from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from tether_events.clock import VectorClock
from tether_sync import (
    LinkState,
    ProviderChange,
    TaskFields,
    TaskSnapshot,
    WritePlan,
    after_publish,
    decide_inbound,
    decide_outbound,
)

BASE = TaskFields(title="Plan", description="notes", due=date(2025, 3, 1))
AT = datetime(2025, 2, 1, 12, tzinfo=UTC)
LINK = LinkState(
    link_id="l1",
    task_id="t1",
    replica="asana:77",
    synced_clock=VectorClock({"core": 3}),
    synced_fields=BASE,
)


def test_the_base_observed_again_is_an_echo() -> None:
    assert decide_inbound(LINK, BASE, edited_at=AT) is None


def test_a_change_carries_the_base_clock_and_exactly_the_changed_fields() -> None:
    observed = BASE.with_values({"title": "Plan B", "due": None})
    change = decide_inbound(LINK, observed, edited_at=AT)
    assert change == ProviderChange(
        task_id="t1",
        link_id="l1",
        replica="asana:77",
        base_clock=VectorClock({"core": 3}),
        base_values={"title": "Plan", "due": date(2025, 3, 1)},
        new_values={"title": "Plan B", "due": None},
        edited_at=AT,
    )
    assert change.clock == VectorClock({"core": 3, "asana:77": 1})


def test_after_publishing_the_same_state_is_not_published_twice() -> None:
    observed = BASE.with_values({"title": "Plan B"})
    change = decide_inbound(LINK, observed, edited_at=AT)
    assert change is not None
    link = after_publish(LINK, change)
    assert link.synced_fields == observed
    assert link.synced_clock == change.clock
    assert decide_inbound(link, observed, edited_at=AT) is None


def test_cores_echo_of_the_merged_change_writes_nothing_back() -> None:
    observed = BASE.with_values({"title": "Plan B"})
    change = decide_inbound(LINK, observed, edited_at=AT)
    assert change is not None
    link = after_publish(LINK, change)
    merged = TaskSnapshot(
        task_id="t1", fields=observed, clock=VectorClock({"core": 4, "asana:77": 1})
    )
    decision = decide_outbound(link, merged)
    assert isinstance(decision, WritePlan)
    assert decision.is_empty


def test_a_second_edit_before_cores_answer_is_relative_to_the_first() -> None:
    first = decide_inbound(LINK, BASE.with_values({"title": "B"}), edited_at=AT)
    assert first is not None
    link = after_publish(LINK, first)
    second = decide_inbound(link, BASE.with_values({"title": "C"}), edited_at=AT)
    assert second is not None
    assert second.base_values == {"title": "B"}
    assert second.base_clock == first.clock
    assert second.clock == VectorClock({"core": 3, "asana:77": 2})


def test_a_change_survives_json_with_its_dates() -> None:
    change = decide_inbound(LINK, BASE.with_values({"due": date(2025, 4, 1)}), edited_at=AT)
    assert change is not None
    assert ProviderChange.model_validate_json(change.model_dump_json()) == change


def test_only_the_changed_fields_keep_their_own_edit_times() -> None:
    title_at = datetime(2025, 2, 1, 11, tzinfo=UTC)
    change = decide_inbound(
        LINK,
        BASE.with_values({"title": "B"}),
        edited_at=AT,
        field_edited_at={"title": title_at, "description": title_at},
    )
    assert change is not None
    # description did not change: its time says nothing about this change.
    assert change.field_edited_at == {"title": title_at}
    assert (change.edited_at_of("title"), change.edited_at) == (title_at, AT)


def test_a_change_must_give_a_base_for_every_new_value() -> None:
    with pytest.raises(ValidationError, match="same fields"):
        ProviderChange(
            task_id="t1",
            link_id="l1",
            replica="asana:77",
            base_clock=VectorClock({"core": 3}),
            base_values={},
            new_values={"title": "B"},
            edited_at=AT,
        )
