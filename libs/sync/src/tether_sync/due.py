"""A task's due: a calendar date (all day) or an instant, never both at once.

This is how Asana models it (``due_on`` a date or ``due_at`` an instant, never both:
https://developers.asana.com/reference/updatetask) and the only reading that survives every
provider: Trello's ``due`` is always an instant, Jira's ``duedate`` always a date. The sync
engine keeps it as ONE synced field, ``due``, so a merge takes one side's due whole and can
never produce a date and an instant together.

Values (``Due``):

- ``datetime.date`` (not a ``datetime``): due on that calendar day, wherever one is;
- an aware ``datetime.datetime``: due at that instant, held in UTC to the millisecond (the
  finest any supported provider keeps: Trello answers ``2026-12-02T01:00:00.000Z``), so an
  instant written to a provider reads back equal;
- ``None``: no due.

``datetime`` is a subclass of ``date``: code telling the two apart must ask
``isinstance(value, datetime)`` first (or use :func:`is_instant`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

Due = date | datetime

# Names the due field had before it could be an instant; stored data may still use them.
LEGACY_FIELD_NAMES = {"due_date": "due"}


def is_instant(value: object) -> bool:
    return isinstance(value, datetime)


def normalise_due(value: Any) -> Due | None:
    """A due from loose input: a date, an aware datetime, or their ISO 8601 text
    (``2026-12-01``; ``2026-12-02T01:00:00Z`` or with any offset). Raises ``ValueError`` for
    a naive datetime (no instant without a zone) or anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= len("YYYY-MM-DD"):
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a due instant needs a time zone offset (e.g. Z)")
        instant = value.astimezone(UTC)
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    if isinstance(value, date):
        return value
    raise ValueError(f"not a due date or instant: {value!r}")


def due_json(value: Due | None) -> str | None:
    """ISO 8601: ``2026-12-01`` for a date, ``2026-12-02T01:00:00Z`` (or ``.123Z``) for an
    instant."""
    if value is None:
        return None
    if isinstance(value, datetime):
        text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text.replace("+00:00", "Z")
    return value.isoformat()


DueValue = Annotated[
    Due | None,
    PlainValidator(normalise_due),
    PlainSerializer(due_json, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
                {"type": "null"},
            ]
        }
    ),
]


def due_parts(value: Due | None) -> tuple[date | None, datetime | None]:
    """The due as the API and events carry it: ``(due_date, due_at)``, at most one set."""
    if isinstance(value, datetime):
        return None, value
    return value, None
