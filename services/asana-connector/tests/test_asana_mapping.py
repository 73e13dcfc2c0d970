"""Asana task <-> task fields: what we write reads back as itself (so our echoes are no
change), each due kind keeps its kind, and the PAT marker never reaches the description."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from asana_connector.mapping import (
    html_notes_for,
    marker_of,
    split_marker,
    task_data,
    task_fields,
    task_gids,
    task_item,
)
from tether_connector_runtime.retry import PermanentProviderError
from tether_sync import TaskFields


def as_answered(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A task as Asana answers it after ``data`` was written (notes omitted: html_notes is
    what we ask for)."""
    task: dict[str, Any] = {"gid": "1", "due_on": None, "due_at": None, "completed": False}
    task.update(data)
    return task | extra


@pytest.mark.parametrize(
    "fields",
    [
        TaskFields(title="Ship it", description="", due=None, completed=False),
        TaskFields(
            title="Plan",
            description="Steps:\n\n- **draft** the [brief](https://example.com)\n- review",
            due=date(2026, 12, 1),
            completed=True,
        ),
        TaskFields(
            title="Call",
            description="# Agenda\n1. `budget`\n2. *hiring*",
            due=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
            completed=False,
        ),
    ],
)
@pytest.mark.parametrize("pat_link_id", [None, "link-1"])
def test_what_we_write_reads_back_unchanged(fields: TaskFields, pat_link_id: str | None) -> None:
    data = task_data(fields.model_dump(), pat_link_id=pat_link_id)
    assert task_fields(as_answered(data)) == fields


def test_a_date_is_due_on_and_an_instant_is_due_at_never_both() -> None:
    assert task_data({"due": date(2026, 12, 1)}, pat_link_id=None) == {"due_on": "2026-12-01"}
    auckland = timezone(timedelta(hours=13))
    instant = datetime(2026, 12, 1, 12, 0, tzinfo=auckland)
    # Sent in UTC with milliseconds, as Asana answers it; the offset is not lost but applied.
    assert task_data({"due": instant}, pat_link_id=None) == {"due_at": "2026-11-30T23:00:00.000Z"}
    assert task_data({"due": None}, pat_link_id=None) == {"due_on": None}


def test_an_instant_read_back_is_the_same_moment_whatever_offset_it_was_written_with() -> None:
    tokyo = datetime(2026, 3, 29, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=9)))
    read = task_fields(as_answered(task_data({"due": tokyo}, pat_link_id=None))).due
    assert read == datetime(2026, 3, 29, 0, 30, 15, 123000, tzinfo=UTC)
    assert isinstance(read, datetime)


def test_due_at_wins_over_due_on_when_asana_answers_both() -> None:
    # Asana fills due_on with due_at's date; the time is what was set.
    task = as_answered({"due_on": "2026-12-01", "due_at": "2026-12-01T08:00:00.000Z"})
    assert task_fields(task).due == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert task_fields(as_answered({"due_on": "2026-12-01"})).due == date(2026, 12, 1)


def test_only_the_fields_changed_are_sent() -> None:
    assert task_data({"title": "New"}, pat_link_id="l") == {"name": "New"}
    assert task_data({"completed": True}, pat_link_id=None) == {"completed": True}
    assert task_data({}, pat_link_id="l") == {}


def test_the_pat_marker_is_in_html_notes_and_never_in_the_description() -> None:
    html = html_notes_for("Hello *world*", "link-42")
    assert html.startswith("<body>")
    assert html.endswith("</body>")
    assert "https://tether.invalid/link/link-42" in html
    assert split_marker(html) == ("<body>Hello <em>world</em></body>", "link-42")
    task = as_answered({"html_notes": html})
    assert task_fields(task).description == "Hello *world*"
    assert marker_of(task) == "link-42"


def test_the_marker_is_found_as_an_xml_serialiser_may_give_it_back() -> None:
    html = "<body>x<a href='https://tether.invalid/link/abc-1' >&#x200b;</a></body>"
    assert split_marker(html) == ("<body>x</body>", "abc-1")


def test_oauth_tasks_are_marked_by_external() -> None:
    task = as_answered({"name": "t", "external": {"gid": "link-7", "data": None}})
    assert marker_of(task) == "link-7"
    assert marker_of(as_answered({"html_notes": "<body>plain</body>"})) is None


def test_html_notes_that_is_not_xml_falls_back_to_notes() -> None:
    task = as_answered({"html_notes": "<body><b>unclosed", "notes": "plain words\u200b"})
    assert task_fields(task).description == "plain words"
    assert task_fields(as_answered({"notes": "only notes"})).description == "only notes"


def test_an_item_is_in_its_first_membership() -> None:
    task = as_answered(
        {
            "name": "t",
            "modified_at": "2026-05-01T10:00:00.000Z",
            "permalink_url": "https://app.asana.com/0/0/1",
            "memberships": [
                {"project": {"gid": "10"}, "section": {"gid": "11"}},
                {"project": {"gid": "20"}, "section": {"gid": "21"}},
            ],
        }
    )
    item = task_item(task)
    assert (item.container_id, item.place_id) == ("10", "11")
    assert item.edited_at == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert item.url == "https://app.asana.com/0/0/1"
    assert not item.closed


def test_memberships_without_a_project_are_skipped_and_none_is_no_project() -> None:
    task = as_answered(
        {"memberships": [{"portfolio": {"gid": "5"}}, {"project": {"gid": "20"}, "section": None}]}
    )
    assert (task_item(task).container_id, task_item(task).place_id) == ("20", None)
    assert task_item(as_answered({"memberships": []})).container_id == ""


def test_memberships_asana_did_not_answer_are_an_error_not_no_project() -> None:
    # A grant without projects:read: taken for "in no project" it would unlink every link.
    with pytest.raises(PermanentProviderError, match="projects:read"):
        task_item(as_answered({"name": "t"}))


def test_events_name_each_task_once_and_nothing_else() -> None:
    events: list[dict[str, Any]] = [
        {"resource": {"gid": "1", "resource_type": "task"}, "action": "changed"},
        {"resource": {"gid": "9", "resource_type": "story"}, "action": "added"},
        {"resource": {"gid": "2", "resource_type": "task"}, "action": "added"},
        {"resource": {"gid": "1", "resource_type": "task"}, "action": "removed"},
        {"resource": None, "action": "changed"},
    ]
    assert task_gids(events) == ["1", "2"]
