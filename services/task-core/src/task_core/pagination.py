"""Opaque keyset cursors: a position in (timestamp, id) order (the task list, conflicts), or a
version number (a task's history).

Keyset rather than offset: a page is one index range scan however deep, and tasks created or
deleted meanwhile neither repeat nor skip items on later pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# The largest version a history row can hold (a 4-byte INTEGER column on PostgreSQL): a cursor
# beyond it would fail in the database rather than name a position.
MAX_VERSION = 2**31 - 1
# Ids this service issues (UUIDs): anything else could not match a row, and text such as NUL
# would fail in the database instead.
_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


class InvalidCursor(ValueError):
    """A cursor this service did not issue: garbage, or a position no row can have."""


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime  # the timestamp the list is ordered by (resolved_at for conflicts)
    id: str


def encode_cursor(position: Position) -> str:
    raw = json.dumps([position.created_at.isoformat(), position.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _payload(cursor: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidCursor("not a cursor this service issued") from exc


def decode_cursor(cursor: str) -> Position:
    """The position a list cursor names. ``InvalidCursor``: garbage, a naive or out-of-range
    timestamp (one that overflows in UTC), an id this service never issues."""
    payload = _payload(cursor)
    if not isinstance(payload, list) or len(payload) != 2:
        raise InvalidCursor("not a cursor this service issued")
    created_at, item_id = payload
    if (
        not isinstance(created_at, str)
        or not isinstance(item_id, str)
        or not _ID.fullmatch(item_id)
    ):
        raise InvalidCursor("not a cursor this service issued")
    try:
        at = datetime.fromisoformat(created_at)
        # Compared with UTC columns: an instant that is not one in UTC (year 0 or 10000) fails.
        at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor("not a cursor this service issued: its time is out of range") from exc
    if at.tzinfo is None:
        raise InvalidCursor("not a cursor this service issued")
    return Position(at, item_id)


def encode_version_cursor(version: int) -> str:
    raw = json.dumps({"v": version}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_version_cursor(cursor: str) -> int:
    """The version a history cursor names. ``InvalidCursor``: garbage, or a version no
    history row can have (below 1, above ``MAX_VERSION``)."""
    payload = _payload(cursor)
    version = payload.get("v") if isinstance(payload, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidCursor("not a cursor this service issued")
    if not 1 <= version <= MAX_VERSION:
        raise InvalidCursor("not a cursor this service issued: its version is out of range")
    return version
