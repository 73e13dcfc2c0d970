"""Request parameters the way Trello reads them, and the validation of card fields.

Trello takes the same parameters from the query string, a form body or a JSON body (its own
docs show all three), so every handler reads one merged mapping instead of a typed JSON model.
Values from a query string or a form are strings; from JSON they keep their JSON type, and the
validators below accept both spellings ("true" and true) as Trello does.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from tether_emulators.trello.errors import TrelloError, invalid_value

Params = Mapping[str, Any]
PatchValue = str | float | bool | None

# Trello documents 16384 characters as the limit of names and descriptions.
MAX_TEXT = 16384
TRELLO_ID = re.compile(r"^[0-9a-fA-F]{24}$")
# Cards and boards can also be addressed by their 8-character short link.
SHORT_LINK = re.compile(r"^[0-9A-Za-z]{8}$")


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The parameters carried by a request body (JSON, urlencoded form or multipart form)."""
    if not body.strip():
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise TrelloError(400, "invalid json") from exc
        if not isinstance(decoded, dict):
            raise TrelloError(400, "invalid json")
        return decoded
    if media_type == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True))
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type, body)
    # Anything else (text/plain, no header) carries no parameters Trello would read.
    return {}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    # python-multipart is not a dependency; the stdlib MIME parser is enough for text fields.
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                fields[name] = payload.decode("utf-8", errors="replace")
    return fields


def text(params: Params, name: str, *, max_length: int = MAX_TEXT) -> str | None:
    """A string parameter, or None when absent; too long or not a string is a 400."""
    if name not in params:
        return None
    value = params[name]
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_value(name)
    result = str(value)
    if len(result) > max_length:
        raise invalid_value(name)
    return result


def boolean(params: Params, name: str) -> bool | None:
    """A boolean parameter ("true"/"false" or JSON booleans), or None when absent."""
    if name not in params:
        return None
    value = params[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(name)


def trello_date(moment: datetime) -> str:
    """Trello's date format: UTC with milliseconds and a Z, e.g. 2024-05-01T12:00:00.000Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_date(value: object, name: str) -> datetime:
    """An ISO 8601 date or datetime (naive means UTC), or epoch milliseconds as a number."""
    if isinstance(value, bool):
        raise invalid_value(name)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        raise invalid_value(name)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise invalid_value(name) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def date_or_null(params: Params, name: str) -> tuple[bool, str | None]:
    """(present, value) for ``due``/``start``: null, "" or "null" clear the date."""
    if name not in params:
        return False, None
    value = params[name]
    if value is None or value in ("", "null"):
        return True, None
    return True, trello_date(parse_date(value, name))


def trello_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not TRELLO_ID.match(value):
        raise invalid_value(name)
    return value


def position(params: Params) -> str | float | None:
    """``pos``: "top", "bottom" or a positive number; None when absent."""
    if "pos" not in params:
        return None
    value = params["pos"]
    if isinstance(value, str) and value.lower() in ("top", "bottom"):
        return value.lower()
    if isinstance(value, bool):
        raise invalid_value("pos")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise invalid_value("pos") from exc
    if not math.isfinite(number) or number <= 0:
        raise invalid_value("pos")
    return number


def card_patch(params: Params) -> dict[str, PatchValue]:
    """The card fields present in ``params``, validated and normalised, keyed by Trello name.

    Unknown parameters are ignored, as Trello ignores them.
    """
    patch: dict[str, PatchValue] = {}
    for name in ("name", "desc"):
        value = text(params, name)
        if value is not None:
            patch[name] = value
    for name in ("due", "start"):
        present, date = date_or_null(params, name)
        if present:
            patch[name] = date
    for name in ("dueComplete", "closed"):
        flag = boolean(params, name)
        if flag is not None:
            patch[name] = flag
    if "idList" in params:
        patch["idList"] = trello_id(params["idList"], "idList")
    pos = position(params)
    if pos is not None:
        patch["pos"] = pos
    return patch


def limit(params: Params, *, default: int, maximum: int) -> int:
    if "limit" not in params:
        return default
    raw = params["limit"]
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise invalid_value("limit") from exc
    if isinstance(raw, bool) or not 0 <= value <= maximum:
        raise invalid_value("limit")
    return value


def filters(params: Params, *, default: str, allowed: frozenset[str]) -> set[str]:
    raw = params.get("filter", default)
    if not isinstance(raw, str):
        raise invalid_value("filter")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    if not names or not names <= allowed:
        raise invalid_value("filter")
    return names
