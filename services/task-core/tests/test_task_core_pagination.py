"""List cursors are opaque positions that survive a round trip; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from task_core.pagination import (
    MAX_VERSION,
    InvalidCursor,
    Position,
    decode_cursor,
    decode_version_cursor,
    encode_cursor,
    encode_version_cursor,
)

WEST, EAST = timezone(-timedelta(hours=2)), timezone(timedelta(hours=14))


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
        encode_cursor(
            Position(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=2))), "a")
        ),
        encode_cursor(Position(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), "a")),
        encode_cursor(Position(datetime(2026, 1, 1, tzinfo=UTC), "a\x00b")),
        encode_cursor(Position(datetime(2026, 1, 1, tzinfo=UTC), "x" * 65)),
    ],
)
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


@pytest.mark.parametrize("version", [1, 2, MAX_VERSION])
def test_a_version_cursor_round_trips(version: int) -> None:
    assert decode_version_cursor(encode_version_cursor(version)) == version


@pytest.mark.parametrize("version", [0, -1, MAX_VERSION + 1, 2**63])
def test_a_version_no_history_row_can_hold_is_refused(version: int) -> None:
    with pytest.raises(InvalidCursor, match="not a cursor"):
        decode_version_cursor(encode_version_cursor(version))
