"""Reading requests the way Asana does: the ``{"data": ...}`` envelope, gids, dates, booleans,
``opt_fields`` and pagination.

Sources: https://developers.asana.com/docs/inputoutput-options (the envelope, form bodies,
``opt_fields``), https://developers.asana.com/docs/pagination (``limit`` 1-100, ``offset``
tokens only as handed out, ``next_page``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tether_emulators.asana.errors import AsanaError, bad_request, missing

JSON = dict[str, Any]


def request_data(content_type: str, body: bytes) -> JSON:
    """The ``data`` object of a write: a JSON body ``{"data": {...}}`` or a form body."""
    if not body.strip():
        return {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    try:
        decoded = json.loads(body)
    except ValueError as exc:
        raise bad_request("Could not parse request data, invalid JSON") from exc
    if not isinstance(decoded, dict) or not isinstance(decoded.get("data"), dict):
        # Asana reads nothing outside the envelope.
        raise missing("data")
    data: JSON = decoded["data"]
    return data


def gid(value: object, name: str) -> str:
    """A gid parameter: a string of digits (numbers are refused since string ids came)."""
    if value is None or value == "":
        raise missing(name)
    if not isinstance(value, str):
        # Worded with JSON's type names, as Asana does ("Not a valid GID type: number").
        raise bad_request(f"{name}: Not a valid GID type: {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def gid_list(value: object, name: str) -> list[str]:
    """``projects``: a JSON array or a comma-separated string."""
    items: Sequence[object]
    if isinstance(value, str):
        items = [part for part in value.split(",") if part]
    elif isinstance(value, list):
        items = value
    else:
        raise bad_request(f"{name}: Not an array")
    return [gid(item, name) for item in items]


def boolean(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise bad_request(f"{name}: Not a boolean: {value}")


def text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{name}: Not a string")
    return value


def due_on(value: object, name: str = "due_on") -> str | None:
    """A YYYY-MM-DD date field (``due_on``, ``start_on``); None clears it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(text(value, name)).isoformat()
    except ValueError as exc:
        raise bad_request(f"{name}: Invalid date string: {value}") from exc


def instant(value: object, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text(value, name).replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"{name}: Invalid date-time string: {value}") from exc
    if parsed.tzinfo is None:
        # Asana reads an instant without an offset as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- opt_fields ---------------------------------------------------------------------------


def opt_fields(params: Mapping[str, str]) -> list[str] | None:
    raw = params.get("opt_fields")
    if raw is None:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def select(doc: JSON, fields: list[str]) -> JSON:
    """Asana's projection: ``gid`` plus each asked field; ``a.b`` reaches into nested objects,
    which otherwise come as ``{gid, resource_type}``. Unknown names are left out."""
    chosen: JSON = {"gid": doc["gid"]} if "gid" in doc else {}
    nested: dict[str, list[str]] = {}
    for name in fields:
        head, _, rest = name.partition(".")
        if head in doc:
            nested.setdefault(head, [])
            if rest:
                nested[head].append(rest)
    for head, subfields in nested.items():
        chosen[head] = _value(doc[head], subfields)
    return chosen


def _value(value: Any, subfields: list[str]) -> Any:
    if isinstance(value, list):
        return [_value(item, subfields) for item in value]
    if isinstance(value, dict) and "resource_type" in value:
        base = {k: value[k] for k in ("gid", "resource_type") if k in value}
        return {**base, **select(value, subfields)} if subfields else base
    if isinstance(value, dict):
        return {
            k: _value(v, [s.partition(".")[2] for s in subfields if s.startswith(k)])
            for k, v in value.items()
            if not subfields or any(s.partition(".")[0] == k for s in subfields)
        }
    return value


# --- pagination ---------------------------------------------------------------------------


def page(items: Sequence[JSON], params: Mapping[str, str], base_path: str, base_url: str) -> JSON:
    """``{"data": [...], "next_page": ...}`` for a list; without ``limit`` everything comes
    back and there is no ``next_page`` (Asana's unpaginated "grandfathered" behaviour)."""
    raw_limit = params.get("limit")
    if raw_limit is None:
        return {"data": list(items)}
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise bad_request("limit: The limit must be between 1 and 100")
    start = _offset(params.get("offset"), base_path)
    chunk = list(items[start : start + limit])
    if start + limit >= len(items):
        return {"data": chunk, "next_page": None}
    token = _token(start + limit, base_path)
    query = {k: v for k, v in params.items() if k != "offset"} | {"offset": token}
    path = f"{base_path}?{urlencode(query)}"
    return {"data": chunk, "next_page": {"offset": token, "path": path, "uri": base_url + path}}


def _token(position: int, base_path: str) -> str:
    raw = json.dumps({"pos": position, "path": base_path}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str | None, base_path: str) -> int:
    """Only an offset this endpoint handed out is accepted."""
    if token is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if decoded["path"] == base_path and isinstance(decoded["pos"], int):
            return int(decoded["pos"])
    except (ValueError, KeyError, TypeError):
        pass
    raise AsanaError(400, "offset: Your pagination token is invalid")
