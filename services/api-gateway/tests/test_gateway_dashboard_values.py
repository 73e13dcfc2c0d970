"""A conflict's other value as the task patch the dashboard sends, per field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api_gateway.dashboard.values import CannotChoose, holds, patch_of
from tether_contracts.sync import FieldValue
from tether_contracts.tasks import TaskOut

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def task(**fields: object) -> TaskOut:
    values: dict[str, object] = {
        "id": "t1",
        "tenant_id": "acme",
        "title": "Plan",
        "description": "",
        "due_date": None,
        "due_at": None,
        "completed": False,
        "deleted": False,
        "version": 3,
        "clock": {"core": 3},
        "created_at": NOW,
        "updated_at": NOW,
    }
    return TaskOut.model_validate(values | fields)


@pytest.mark.parametrize(
    ("field", "value", "changes"),
    [
        ("title", "Plan the week", {"title": "Plan the week"}),
        ("description", "", {"description": ""}),
        ("completed", True, {"completed": True}),
        ("due", "2026-12-24", {"due_date": date(2026, 12, 24)}),
        ("due", date(2026, 12, 24), {"due_date": date(2026, 12, 24)}),
        ("due", "2026-12-24T15:00:00Z", {"due_at": datetime(2026, 12, 24, 15, tzinfo=UTC)}),
        ("due", None, {"due_date": None}),
    ],
)
def test_the_other_value_becomes_the_fields_patch(
    field: str, value: FieldValue, changes: dict[str, object]
) -> None:
    assert patch_of(field, value).changes() == changes


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", None), ("completed", None), ("title", ""), ("deleted", True), ("due", "someday")],
)
def test_a_value_no_patch_can_carry_is_refused(field: str, value: FieldValue) -> None:
    with pytest.raises(CannotChoose):
        patch_of(field, value)


def test_holds_compares_the_tasks_current_value() -> None:
    assert holds(task(title="Plan"), "title", "Plan")
    assert not holds(task(title="Plan"), "title", "Other")
    assert holds(task(due_date=date(2026, 12, 24)), "due", "2026-12-24")
    assert not holds(task(due_at=datetime(2026, 12, 24, 15, tzinfo=UTC)), "due", None)
    assert holds(task(), "due", None)
    assert not holds(task(), "deleted", True)
