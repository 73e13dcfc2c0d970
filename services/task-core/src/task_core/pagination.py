"""Opaque keyset cursors: a position in (timestamp, id) order (the task list, conflicts), or a
version number (a task's history).

Keyset rather than offset: a page is one index range scan however deep, and tasks created or
deleted meanwhile neither repeat nor skip items on later pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime  # the timestamp the list is ordered by (resolved_at for conflicts)
    id: str


def encode_cursor(position: Position) -> str:
    raw = json.dumps([position.created_at.isoformat(), position.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, task_id = json.loads(raw)
        position = Position(datetime.fromisoformat(created_at), task_id)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise InvalidCursor("not a cursor this service issued") from exc
    if position.created_at.tzinfo is None or not isinstance(position.id, str):
        raise InvalidCursor("not a cursor this service issued")
    return position


def encode_version_cursor(version: int) -> str:
    raw = json.dumps({"v": version}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_version_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version = json.loads(raw)["v"]
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError, KeyError) as exc:
        raise InvalidCursor("not a cursor this service issued") from exc
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidCursor("not a cursor this service issued")
    return version
