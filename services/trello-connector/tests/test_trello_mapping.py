"""Card <-> task fields must round-trip, or our own writes would come back as edits."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from tether_sync import TaskFields
from trello_connector.mapping import (
    card_fields,
    card_params,
    due_from_trello,
    due_to_trello,
    link_id_of,
    marked_desc,
)

fields = st.builds(
    TaskFields,
    title=st.text(min_size=1, max_size=40),
    description=st.text(max_size=200),
    due_date=st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2100, 1, 1))),
    completed=st.booleans(),
)


@given(fields)
def test_what_we_write_reads_back_the_same(task: TaskFields) -> None:
    params = card_params(task.model_dump(), link_id="link-1")
    card = {
        "name": params["name"],
        "desc": params["desc"],
        "due": params["due"],
        "dueComplete": params["dueComplete"],
    }
    assert card_fields(card) == task
    assert link_id_of(card["desc"]) == "link-1"


def test_the_marker_is_invisible_markdown_and_survives_description_edits() -> None:
    desc = marked_desc("Agenda:\n- budget", "9f2c-11")
    assert desc.startswith("Agenda:\n- budget\n\n[tether]: ")
    assert card_fields({"name": "x", "desc": desc}).description == "Agenda:\n- budget"
    edited = card_params({"description": "New text"}, link_id="9f2c-11")["desc"]
    assert link_id_of(edited) == "9f2c-11"


def test_trailing_newlines_of_a_description_survive_the_marker() -> None:
    assert card_fields({"name": "x", "desc": marked_desc("abc\n", "l")}).description == "abc\n"


def test_a_card_without_marker_is_not_ours() -> None:
    assert link_id_of("just a [link](https://example.com)") is None


def test_due_dates_are_written_at_noon_utc_and_read_as_the_utc_day() -> None:
    assert due_to_trello(date(2026, 12, 1)) == "2026-12-01T12:00:00Z"
    assert due_from_trello("2026-12-01T12:00:00.000Z") == date(2026, 12, 1)
    assert due_from_trello("2026-12-01T23:30:00.000-05:00") == date(2026, 12, 2)
    assert due_from_trello(None) is None
    assert due_to_trello(None) is None


def test_an_actions_date_dates_exactly_the_fields_it_changed() -> None:
    from datetime import UTC, datetime

    from trello_connector.mapping import action_notice

    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    rename = {
        "type": "updateCard",
        "date": "2026-12-01T09:30:00.000Z",
        "data": {"card": {"id": "c", "name": "After"}, "old": {"name": "Before", "pos": 3}},
    }
    notice = action_notice(rename)
    assert notice is not None
    assert notice.external_id == "c"
    assert notice.field_edited_at == {"title": at}
    assert notice.field_values == {"title": "After"}
    moved = {**rename, "data": {"card": {"id": "c"}, "old": {"idList": "l1"}}}
    notice = action_notice(moved)
    assert notice is not None
    assert notice.field_edited_at == {"completed": at}  # a mapped list may say done
    assert notice.field_values == {}  # completion is read from the list, not the action
    created = {
        "type": "createCard",
        "date": "2026-12-01T09:30:00.000Z",
        "data": {"card": {"id": "c"}},
    }
    notice = action_notice(created)
    assert notice is not None
    assert set(notice.field_edited_at) == {"title", "description", "due_date", "completed"}
    undated = action_notice(
        {"type": "updateCard", "data": {"card": {"id": "c"}, "old": {"name": "x"}}}
    )
    assert undated is not None
    assert undated.field_edited_at == {}
    assert action_notice({"type": "updateList", "data": {"list": {"id": "l"}}}) is None


def test_an_actions_values_come_from_its_card_block_in_our_terms() -> None:
    from trello_connector.mapping import action_notice, marker

    action = {
        "type": "updateCard",
        "date": "2026-12-01T09:30:00.000Z",
        "data": {
            "card": {
                "id": "c",
                "desc": f"Notes\n\n{marker('link-1')}",
                "due": "2026-12-03T12:00:00.000Z",
            },
            "old": {"desc": "", "due": None},
        },
    }
    notice = action_notice(action)
    assert notice is not None
    assert notice.field_values == {"description": "Notes", "due_date": date(2026, 12, 3)}
