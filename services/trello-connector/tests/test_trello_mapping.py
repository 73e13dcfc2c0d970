"""Card <-> task fields must round-trip, or our own writes would come back as edits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether_connector_runtime.port import PlaceMove
from tether_sync import TaskFields
from trello_connector.dialect import TrelloWebhooks
from trello_connector.mapping import (
    card_fields,
    card_params,
    carries_marker,
    link_id_of,
    list_move,
    marked_desc,
    marker,
    strip_marker,
)

fields = st.builds(
    TaskFields,
    title=st.text(min_size=1, max_size=40),
    description=st.text(max_size=200),
    due=st.one_of(
        st.none(),
        st.dates(date(2000, 1, 1), date(2100, 1, 1)),
        # Instants as Trello keeps them (milliseconds), never at 12:00 UTC: that reads as the
        # date in a UTC owner's zone (test_trello_due_dates.py).
        st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
        .map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
        .filter(lambda d: d.time() != time(12)),
    ),
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


def test_an_actions_date_dates_exactly_the_fields_it_changed() -> None:
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
    assert set(notice.field_edited_at) == {"title", "description", "due", "completed"}
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
    assert notice.field_values == {"description": "Notes", "due": date(2026, 12, 3)}


# Our marker, whatever a person does to a description around it --------------------------------

M = "[tether]: https://tether.invalid/link/link-1"


@pytest.mark.parametrize(
    ("desc", "core_sees"),
    [
        # Text typed on the line below the marker, or after a blank line below it.
        (f"Agenda\n\n{M}\nNotes from the call", "Agenda\n\nNotes from the call"),
        (f"Agenda\n\n{M}\n\nNotes from the call", "Agenda\n\nNotes from the call"),
        (f"{M}\nNotes", "Notes"),
        (f"{M}\n\nNotes", "Notes"),
        # CRLF line ends, and a line end or blank line typed after the marker.
        (f"Agenda\r\n\r\n{M}", "Agenda"),
        (f"Agenda\r\n\r\n{M}\r\nNotes", "Agenda\r\n\r\nNotes"),
        (f"Agenda\n\n{M}\n", "Agenda"),
        (f"Agenda\n\n{M}  \r\n\r\n", "Agenda"),
        # Repeated: what every round of the old mapping left behind.
        (f"Agenda\n\n{M}\nNotes\n\n{M}", "Agenda\n\nNotes"),
        (f"Agenda\n\n{M}\n\n{M}\n\n{M}", "Agenda"),
        # Inside a line, and with brackets an editor escaped.
        (f"see {M} above", "see above"),
        ("Agenda\n\n\\[tether\\]: https://tether.invalid/link/link-1\nNotes", "Agenda\n\nNotes"),
        # Deleted by a person: the text as typed.
        ("Agenda\n\n", "Agenda\n\n"),
    ],
)
def test_the_marker_never_reaches_core_wherever_it_is(desc: str, core_sees: str) -> None:
    assert card_fields({"name": "x", "desc": desc}).description == core_sees
    assert "tether.invalid" not in strip_marker(desc)


def test_the_marker_is_recognised_on_any_line() -> None:
    assert link_id_of(f"Agenda\n\n{M}\nNotes") == "link-1"
    assert link_id_of(f"Agenda\r\n\r\n{M}\r\n") == "link-1"
    assert link_id_of(f"see {M} above") == "link-1"
    # Several: ours is written last.
    assert link_id_of(f"{marker('link-0')}\n{M}") == "link-1"
    assert carries_marker(f"{marker('link-0')}\nNotes\n\n{M}\nmore", "link-0")
    assert not carries_marker(f"Notes\n\n{M}", "link-2")


def test_every_description_we_write_carries_exactly_one_marker() -> None:
    # A description that reached core with markers in it (leaked by the old mapping, or
    # pasted by a person) is written with one marker, ours, and without theirs.
    leaked = f"Agenda\n\n{marker('link-0')}\nNotes\n\n{marker('link-1')}"
    written = card_params({"description": leaked}, link_id="link-1")["desc"]
    assert written == f"Agenda\n\nNotes\n\n{M}"
    assert written.count("tether.invalid") == 1
    assert card_fields({"name": "x", "desc": written}).description == "Agenda\n\nNotes"


def test_a_round_of_edits_below_the_marker_adds_no_marker() -> None:
    # A person types below the marker; core takes the text; core's next edit is written.
    typed = f"{marked_desc('Agenda', 'link-1')}\nNotes"
    seen = card_fields({"name": "x", "desc": typed}).description
    again = card_params({"description": seen + "!"}, link_id="link-1")["desc"]
    assert again == f"Agenda\n\nNotes!\n\n{M}"
    assert card_fields({"name": "x", "desc": again}).description == "Agenda\n\nNotes!"


_FRAGMENTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [M, marker("link-0"), "\\[tether\\]: https://tether.invalid/link/x", "[tet", "her]"]
    ),
    st.sampled_from(["\n", "\r\n", "\n\n", "\r\n\r\n", "\r", " ", "\t"]),
)
descriptions = st.lists(_FRAGMENTS, max_size=12).map("".join)


@given(descriptions)
def test_core_never_sees_a_marker_and_what_we_write_reads_back(desc: str) -> None:
    seen = strip_marker(desc)
    assert link_id_of(seen) is None
    written = marked_desc(seen, "link-1")
    # Exactly one marker: ours, last; nothing before it is a marker.
    assert written.endswith(M)
    assert link_id_of(written.removesuffix(M)) is None
    assert strip_marker(written) == seen  # our echo is no edit


@given(st.text(max_size=200).filter(lambda s: "tether" not in s))
def test_a_person_s_text_without_a_marker_is_kept_as_typed(desc: str) -> None:
    assert strip_marker(desc) == desc


def test_a_lists_move_to_another_board_names_the_list_and_the_board_it_left() -> None:
    left = {
        "type": "moveListFromBoard",
        "data": {"board": {"id": "b1"}, "boardTarget": {"id": "b2"}, "list": {"id": "l"}},
    }
    arrived = {
        "type": "moveListToBoard",
        "data": {"board": {"id": "b2"}, "boardSource": {"id": "b1"}, "list": {"id": "l"}},
    }
    assert list_move(left) == PlaceMove("l", "b1")
    assert list_move(arrived) == PlaceMove("l", "b1")
    assert list_move({"type": "updateList", "data": {"list": {"id": "l"}}}) is None
    assert list_move({"type": "moveListFromBoard", "data": {"list": {"id": "l"}}}) is None


def test_a_webhook_of_a_list_move_names_it_and_no_card() -> None:
    body = json.dumps(
        {
            "action": {
                "id": "a" * 24,
                "type": "moveListFromBoard",
                "date": "2026-12-01T09:30:00.000Z",
                "data": {"board": {"id": "b1"}, "boardTarget": {"id": "b2"}, "list": {"id": "l"}},
            },
            "model": {"id": "b1"},
        }
    ).encode()
    delivery = TrelloWebhooks("app-secret").parse(body, {})
    assert delivery.places_moved == [PlaceMove("l", "b1")]
    assert delivery.notices == []
