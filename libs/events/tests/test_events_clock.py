from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tether_events.clock import Ordering, VectorClock

clocks = st.dictionaries(
    st.sampled_from(["core", "trello:a", "asana:b", "jira:c"]), st.integers(0, 5)
).map(VectorClock)


def test_increment_bumps_only_that_replica() -> None:
    clock = VectorClock({"core": 2}).increment("trello:a").increment("core")
    assert clock == {"core": 3, "trello:a": 1}


def test_compare_orders_causally_related_clocks() -> None:
    a = VectorClock({"core": 1})
    b = a.increment("core")
    assert a.compare(b) is Ordering.BEFORE
    assert b.compare(a) is Ordering.AFTER
    assert a.compare(VectorClock({"core": 1})) is Ordering.EQUAL


def test_independent_changes_are_concurrent() -> None:
    base = VectorClock({"core": 1})
    assert base.increment("trello:a").compare(base.increment("asana:b")) is Ordering.CONCURRENT


def test_zero_entries_do_not_matter() -> None:
    assert VectorClock({"core": 1, "jira:x": 0}) == VectorClock({"core": 1})
    assert hash(VectorClock({"core": 1, "jira:x": 0})) == hash(VectorClock({"core": 1}))


def test_negative_counters_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        VectorClock({"core": -1})


@given(clocks, clocks)
def test_merge_is_the_least_upper_bound(a: VectorClock, b: VectorClock) -> None:
    merged = a.merge(b)
    assert a.dominated_by(merged)
    assert b.dominated_by(merged)
    assert merged == b.merge(a)
    assert all(merged[r] in (a[r], b[r]) for r in merged)


@given(clocks, clocks)
def test_compare_is_antisymmetric(a: VectorClock, b: VectorClock) -> None:
    flipped = {
        Ordering.BEFORE: Ordering.AFTER,
        Ordering.AFTER: Ordering.BEFORE,
        Ordering.EQUAL: Ordering.EQUAL,
        Ordering.CONCURRENT: Ordering.CONCURRENT,
    }
    assert b.compare(a) is flipped[a.compare(b)]


class _Holder(BaseModel):
    clock: VectorClock


def test_clock_round_trips_through_pydantic_json() -> None:
    holder = _Holder(clock=VectorClock({"core": 2, "trello:a": 1}))
    again = _Holder.model_validate_json(holder.model_dump_json())
    assert again.clock == holder.clock
    assert isinstance(again.clock, VectorClock)
    assert _Holder.model_validate({"clock": {"core": 1}}).clock == {"core": 1}


def test_clock_rejects_bad_json() -> None:
    with pytest.raises(ValidationError):
        _Holder.model_validate_json('{"clock": {"core": -3}}')
    with pytest.raises(ValidationError):
        _Holder.model_validate_json('{"clock": {"core": "x"}}')
