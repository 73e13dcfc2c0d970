"""Which providers there are, how a connection id names one, and how ids go into the
connectors' URL paths."""

from __future__ import annotations

from typing import get_args
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError

from tether_contracts.sync import Provider

PROVIDERS: tuple[Provider, ...] = get_args(Provider)
NAMES: dict[Provider, str] = {"trello": "Trello", "asana": "Asana", "jira": "Jira"}

Loc = tuple[str, ...]


def invalid(loc: Loc, message: str, value: object) -> RequestValidationError:
    """A 422 naming one field, as FastAPI's own validation errors do."""
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": message, "input": value}]
    )


def provider_of(connection_id: str, loc: Loc) -> Provider:
    """The provider a connection id starts with; a 422 at ``loc`` when it names none."""
    prefix, separator, rest = connection_id.partition("_")
    provider = next((p for p in PROVIDERS if p == prefix), None)
    if provider is None or not separator or not rest:
        raise invalid(
            loc,
            "not a connection id (they look like trello_<id>, asana_<id>, jira_<id>)",
            connection_id,
        )
    return provider


def segment(value: str) -> str:
    """``value`` as one URL path segment: quoting keeps a crafted id from reaching another
    route."""
    return quote(value, safe="")
