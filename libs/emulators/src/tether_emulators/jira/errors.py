"""The emulator's one error type: an HTTP status with Jira's error body.

Jira's REST API answers failures as an ``ErrorCollection``: ``{"errorMessages": [...],
"errors": {"<field>": "<message>"}}`` (the ``ErrorCollection`` schema of
https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#status-codes). Messages about
the request as a whole go in ``errorMessages``; messages about one field go in ``errors``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
# Jira Cloud's answer to a field it does not let the caller set (status, unknown fields).
NOT_SETTABLE = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


class JiraError(Exception):
    """Raised anywhere in the emulator; answered as ``status`` with Jira's ``ErrorCollection``.

    ``messages`` fill ``errorMessages``, ``errors`` maps a field to its message; ``headers``
    are added to the answer (``Retry-After`` on a 429).
    """

    def __init__(
        self,
        status: int,
        *messages: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join([*messages, *(errors or {}).values()]))
        self.status = status
        self.messages = list(messages)
        self.errors = errors or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


def error_response(error: JiraError) -> Response:
    """The error as Jira answers it: its status, the ``ErrorCollection`` and its headers."""
    return Response(
        json.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


def bad_request(*messages: str, **errors: str) -> JiraError:
    return JiraError(400, *messages, errors=errors or None)


def field_errors(errors: dict[str, str]) -> JiraError:
    """A 400 naming the fields at fault, ``errorMessages`` empty (as Jira's create/edit do)."""
    return JiraError(400, errors=errors)


def issue_not_found() -> JiraError:
    return JiraError(404, ISSUE_NOT_FOUND)


def forbidden(message: str) -> JiraError:
    return JiraError(403, message)
