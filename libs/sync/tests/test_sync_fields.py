from datetime import date

import pytest
from pydantic import ValidationError

from tether_events.clock import VectorClock
from tether_sync import LinkState, TaskFields, TaskSnapshot, changed_fields

BASE = TaskFields(title="Plan", description="*soon*", due=date(2025, 3, 1))


def test_changed_fields_are_listed_in_declaration_order() -> None:
    other = BASE.with_values({"completed": True, "title": "Plan B"})
    assert changed_fields(BASE, other) == ("title", "completed")
    assert changed_fields(BASE, BASE) == ()


def test_partial_values_are_typed_by_the_field_they_belong_to() -> None:
    updated = BASE.with_values({"due": "2025-04-02", "title": "2025-04-02"})
    assert updated.due == date(2025, 4, 2)
    assert updated.title == "2025-04-02"


def test_a_value_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        BASE.with_values({"title": None})
    with pytest.raises(ValueError, match="not a synced field"):
        BASE.with_values({"assignee": "ann"})  # type: ignore[dict-item]


def test_link_state_survives_a_json_round_trip() -> None:
    snapshot = TaskSnapshot(task_id="t1", fields=BASE, clock=VectorClock({"core": 2}))
    link = LinkState.exported(link_id="l1", replica="trello:c1", snapshot=snapshot)
    assert LinkState.model_validate_json(link.model_dump_json()) == link
