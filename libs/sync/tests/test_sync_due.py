"""The due is one synced field (a date or an instant, never both), and data stored under its
old name, due_date, is read as it meant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether_events.clock import VectorClock
from tether_sync import (
    Conflict,
    CoreTask,
    FieldStamp,
    ProviderChange,
    SyncPolicy,
    TaskFields,
    due_json,
    due_parts,
    merge_provider_change,
    normalise_due,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = st.dates(date(2000, 1, 1), date(2100, 1, 1))
INSTANTS = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
DUES = st.one_of(st.none(), DAYS, INSTANTS)


def test_an_instant_is_kept_in_utc_to_the_millisecond_and_a_date_stays_a_date() -> None:
    la = timezone(timedelta(hours=-8))
    instant = normalise_due(datetime(2026, 12, 1, 17, 0, 0, 123456, tzinfo=la))
    assert instant == datetime(2026, 12, 2, 1, 0, 0, 123000, tzinfo=UTC)
    assert due_json(instant) == "2026-12-02T01:00:00.123Z"
    assert normalise_due("2026-12-02T01:00:00.000Z") == datetime(2026, 12, 2, 1, tzinfo=UTC)
    day = normalise_due("2026-12-01")
    assert (type(day), day) == (date, date(2026, 12, 1))
    assert due_parts(day) == (date(2026, 12, 1), None)
    assert due_parts(instant) == (None, instant)


@pytest.mark.parametrize("bad", [datetime(2026, 12, 1, 12), "2026-12-01T12:00:00", 5, "soon"])
def test_a_due_without_a_zone_or_of_another_kind_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"zone offset|isoformat|not a due"):
        normalise_due(bad)


@given(base=DUES, core=DUES, new=DUES, later=st.booleans())
def test_a_due_merge_takes_one_due_whole_never_both_kinds(
    base: date | None, core: date | None, new: date | None, later: bool
) -> None:
    task = CoreTask.create("t1", TaskFields(title="Plan", due=core), at=T0)
    change = ProviderChange(
        task_id="t1",
        link_id="l1",
        replica="trello:c1",
        base_clock=VectorClock({"core": 1}),
        base_values={"due": base},
        new_values={"due": new},
        edited_at=T0 + timedelta(minutes=1 if later else -1),
    )
    outcome = merge_provider_change(task, change, SyncPolicy(), now=T0)
    merged = outcome.task.fields.due
    assert merged in (core, new)
    assert merged == core or (merged == new and type(merged) is type(new))
    due_date, due_at = due_parts(merged)
    assert due_date is None or due_at is None
    for conflict in outcome.conflicts:
        assert conflict.field == "due"
        assert conflict.winning_value in (core, new)


def test_link_states_stamps_events_and_conflicts_stored_as_due_date_still_read() -> None:
    fields = TaskFields.model_validate({"title": "Plan", "due_date": "2026-12-01"})
    assert fields.due == date(2026, 12, 1)
    stamp = {"replica": "core", "edited_at": T0.isoformat()}
    task = CoreTask.model_validate(
        {
            "task_id": "t1",
            "fields": fields.model_dump(),
            "clock": {"core": 1},
            "stamps": {"title": stamp, "description": stamp, "due_date": stamp, "completed": stamp},
        }
    )
    assert task.stamps["due"] == FieldStamp(replica="core", edited_at=T0)
    change = ProviderChange.model_validate(
        {
            "task_id": "t1",
            "link_id": "l1",
            "replica": "trello:c1",
            "base_clock": {"core": 1},
            "base_values": {"due_date": "2026-12-01"},
            "new_values": {"due_date": "2026-12-24"},
            "edited_at": T0.isoformat(),
            "field_edited_at": {"due_date": T0.isoformat()},
        }
    )
    assert (change.new_values, change.field_edited_at) == ({"due": date(2026, 12, 24)}, {"due": T0})
    merged = merge_provider_change(task, change, now=T0).task
    assert merged.fields.due == date(2026, 12, 24)
    conflict = Conflict.model_validate(
        {
            "task_id": "t1",
            "field": "due_date",
            "base_value": None,
            "core_value": "2026-12-01",
            "provider_value": "2026-12-02",
            "core_replica": "core",
            "provider_replica": "trello:c1",
            "winner": "core",
            "winning_value": "2026-12-01",
            "policy": "latest_wins",
            "resolved_at": T0.isoformat(),
        }
    )
    assert (conflict.field, conflict.core_value) == ("due", date(2026, 12, 1))
    assert SyncPolicy.model_validate({"per_field": {"due_date": "core_wins"}}).for_field("due")
