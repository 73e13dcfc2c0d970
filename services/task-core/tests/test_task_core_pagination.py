"""List cursors are opaque positions that survive a round trip; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from task_core.pagination import InvalidCursor, Position, decode_cursor, encode_cursor


def test_a_cursor_round_trips_to_the_same_position() -> None:
    position = Position(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "a-task-id")
    assert decode_cursor(encode_cursor(position)) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!",
        "bnVsbA",  # null
        "WyIyMDI2LTAxLTAyVDAzOjA0OjA1IiwgImEiXQ",  # a naive timestamp
        "WyIyMDI2LTAxLTAyVDAzOjA0OjA1WiIsIDFd",  # an id that is not a string
    ],
)
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
