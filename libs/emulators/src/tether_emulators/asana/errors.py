"""The one error type of the emulator: an HTTP status with Asana's JSON error body.

Asana answers every failure as ``{"errors": [{"message": ..., "help": ...}]}``; a 500 also
carries a ``phrase`` (https://developers.asana.com/docs/errors and the ``ErrorResponse`` schema
of https://raw.githubusercontent.com/Asana/openapi/master/defs/asana_oas.yaml).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.responses import Response

HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)
NOT_AUTHORIZED = "Not Authorized"
RATE_LIMITED = (
    "You've made too many requests and hit a rate limit. Please retry after the given amount "
    "of time."
)
_PHRASE_WORDS = ("sad", "squid", "snuggle", "softly", "brave", "otter", "sings", "loudly")


def error_body(status: int, message: str, *, help_text: bool = True) -> dict[str, Any]:
    """``{"errors": [{"message", "help"?, "phrase"? (5xx only)}]}``."""
    error: dict[str, Any] = {"message": message}
    if help_text:
        error["help"] = HELP
    if status >= 500:
        # Asana's phrase identifies the incident for its support (node-asana-phrase).
        error["phrase"] = " ".join(secrets.choice(_PHRASE_WORDS) for _ in range(5))
    return {"errors": [error]}


class AsanaError(Exception):
    """Raised anywhere in the emulator; answered as ``status`` with Asana's error body.

    ``extra`` adds top-level members next to ``errors`` (the events API's 412 carries
    ``sync``); ``headers`` adds response headers (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {**error_body(self.status, self.message), **self.extra}


def error_response(error: AsanaError) -> Response:
    """The error as Asana answers it: its status, its JSON body and its headers."""
    return Response(
        json.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


def bad_request(message: str) -> AsanaError:
    return AsanaError(400, message)


def missing(field: str) -> AsanaError:
    """Asana's wording for a required parameter left out (OpenAPI ``Error`` example)."""
    return AsanaError(400, f"{field}: Missing input")


def unknown_object(gid: str) -> AsanaError:
    """A 404 for a gid the caller cannot see (or that never existed)."""
    return AsanaError(404, f"Unknown object: {gid}")


def forbidden(message: str) -> AsanaError:
    return AsanaError(403, message)
