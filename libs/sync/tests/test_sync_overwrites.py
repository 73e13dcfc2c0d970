"""What an unread write may have overwritten: each field's window, the edits inside it, the
change that publishes them, and the stored form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tether_events.clock import VectorClock
from tether_sync import FieldName, FieldValue, LinkState, TaskFields
from tether_sync.overwrites import (
    MAX_OURS,
    after_overwritten,
    before_write,
    decide_overwritten,
    overwrite_from_json,
    overwritten,
    written_at,
)

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
Edits = dict[FieldName, tuple[tuple[FieldValue, datetime], ...]]
BASE = TaskFields(title="Base")


def _at(seconds: int) -> datetime:
    return T + timedelta(seconds=seconds)


def test_a_write_opens_a_window_from_the_last_read_to_its_answer() -> None:
    kept = before_write({}, BASE, {"title": "Ours"}, _at(0))
    kept = written_at(kept, ("title",), _at(10))
    edits: Edits = {"title": (("Theirs", _at(5)),)}
    assert overwritten(kept, edits) == {"title": ("Theirs", _at(5))}
    assert overwritten(kept, {"title": (("Theirs", _at(0)),)}) == {}, "the read saw it"
    assert overwritten(kept, {"title": (("Theirs", _at(11)),)}) == {}, "after our write"
    assert overwritten(kept, {"title": (("Base", _at(5)),)}) == {}, "the base: nothing new"
    assert overwritten(kept, {"title": (("Ours", _at(5)),)}) == {}, "our own value"
    assert overwritten(kept, {"description": (("Theirs", _at(5)),)}) == {}, "not written"


def test_the_latest_edit_inside_the_window_is_the_one_overwritten() -> None:
    kept = written_at(before_write({}, BASE, {"title": "Ours"}, _at(0)), ("title",), _at(10))
    edits: Edits = {"title": (("Ours", _at(10)), ("Second", _at(7)), ("First", _at(3)))}
    assert overwritten(kept, edits) == {"title": ("Second", _at(7))}


def test_a_write_over_our_own_value_keeps_the_window_open_from_its_start() -> None:
    kept = written_at(before_write({}, BASE, {"title": "Ours"}, _at(0)), ("title",), _at(10))
    again = before_write(kept, BASE.with_values({"title": "Ours"}), {"title": "Ours 2"}, _at(20))
    assert again["title"].base == "Base"
    assert again["title"].since == _at(0)
    assert again["title"].at is None, "open until the new write's answer"
    assert overwritten(again, {"title": (("Theirs", _at(5)),)}) == {"title": ("Theirs", _at(5))}


def test_a_write_over_a_persons_value_starts_a_new_window() -> None:
    kept = written_at(before_write({}, BASE, {"title": "Ours"}, _at(0)), ("title",), _at(10))
    theirs = BASE.with_values({"title": "Theirs"})  # published from a read at 20
    again = before_write(kept, theirs, {"title": "Ours 2"}, _at(20))
    assert again["title"].base == "Theirs"
    assert again["title"].since == _at(20)


def test_a_write_in_place_of_one_that_never_landed_keeps_the_window_from_its_start() -> None:
    # Ours 1 landed (answered at 10); Ours 2 was recorded, then the provider answered 503:
    # the base still holds Ours 1. The retry read the item at 30 (holding Ours 1) and writes
    # Ours 3: a person's edit at 5, overwritten by Ours 1, must still be found.
    kept = written_at(before_write({}, BASE, {"title": "Ours 1"}, _at(0)), ("title",), _at(10))
    ours_1 = BASE.with_values({"title": "Ours 1"})
    failed = before_write(kept, ours_1, {"title": "Ours 2"}, _at(20))
    retried = before_write(failed, ours_1, {"title": "Ours 3"}, _at(30))
    assert retried["title"].since == _at(0)
    assert retried["title"].wrote == "Ours 3"
    assert [value for value, _ in retried["title"].ours] == ["Ours 1"], "Ours 2 never landed"
    assert overwritten(retried, {"title": (("Theirs", _at(5)),)}) == {"title": ("Theirs", _at(5))}
    # The same when the first write of the window is the one that never landed.
    never = before_write(
        before_write({}, BASE, {"title": "Ours 1"}, _at(0)), BASE, {"title": "Ours 2"}, _at(30)
    )
    assert never["title"].since == _at(0)
    assert never["title"].base == "Base"


def test_a_write_answered_then_overwritten_by_a_person_is_not_unlanded() -> None:
    # Ours was answered at 10; a read at 20 found Theirs and published it: the base is
    # Theirs. Though Theirs is not Ours, the write landed (it has an answer): a new window.
    kept = written_at(before_write({}, BASE, {"title": "Ours"}, _at(0)), ("title",), _at(10))
    assert not kept["title"].unlanded(BASE.value("title"))
    assert not kept["title"].unlanded("Theirs")


def test_the_change_is_concurrent_with_our_write_and_leaves_the_fields_as_held() -> None:
    link = LinkState(
        link_id="link-1",
        task_id="task-1",
        replica="trello:c1",
        synced_clock=VectorClock({"core": 2}),
        synced_fields=BASE.with_values({"title": "Ours"}),
    )
    kept = written_at(before_write({}, BASE, {"title": "Ours"}, _at(0)), ("title",), _at(10))
    found: dict[FieldName, tuple[FieldValue, datetime]] = {"title": ("Theirs", _at(5))}
    change = decide_overwritten(link, kept, found, edited_at=_at(5))
    assert change.base_values == {"title": "Base"}
    assert change.new_values == {"title": "Theirs"}
    assert change.clock == VectorClock({"core": 2, "trello:c1": 1})
    state, windows = after_overwritten(link, kept, change)
    assert state.synced_fields == link.synced_fields
    assert state.synced_clock == change.clock
    assert windows["title"].since == _at(5), "the same edit again is not news"
    assert overwritten(windows, {"title": (("Theirs", _at(5)),)}) == {}


def test_stored_values_keep_their_types() -> None:
    kept = before_write({}, BASE, {"title": "2026-03-01", "due": date(2026, 3, 2)}, None)
    for over in kept.values():
        assert overwrite_from_json(over.model_dump(mode="json")) == over
    assert overwrite_from_json(kept["title"].model_dump(mode="json")).wrote == "2026-03-01"


def test_our_own_earlier_writes_in_the_window_are_not_a_persons_edits() -> None:
    kept = written_at(before_write({}, BASE, {"title": "Ours 1"}, _at(0)), ("title",), _at(10))
    again = before_write(kept, BASE.with_values({"title": "Ours 1"}), {"title": "Ours 2"}, None)
    again = written_at(again, ("title",), _at(20))
    echo: Edits = {"title": (("Ours 2", _at(20)), ("Ours 1", _at(10)))}
    assert overwritten(again, echo) == {}, "our first write's own notice"
    stored = overwrite_from_json(again["title"].model_dump(mode="json"))
    assert stored == again["title"]


def test_a_window_remembers_a_bounded_number_of_our_writes() -> None:
    kept = written_at(before_write({}, BASE, {"title": "w0"}, _at(0)), ("title",), _at(10))
    for n in range(1, MAX_OURS + 2):
        base = BASE.with_values({"title": f"w{n - 1}"})
        kept = written_at(
            before_write(kept, base, {"title": f"w{n}"}, None), ("title",), _at(10 * (n + 1))
        )
    over = kept["title"]
    assert len(over.ours) == MAX_OURS
    assert over.since == _at(10), "the window starts after the oldest write forgotten (w0)"
    assert overwritten(kept, {"title": (("Theirs", _at(5)),)}) == {}
    assert overwritten(kept, {"title": (("Theirs", _at(15)),)}) == {"title": ("Theirs", _at(15))}
