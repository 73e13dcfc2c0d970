"""The one error type of the emulator: a Trello status code with Trello's own wording.

Trello answers most client errors with a short plain-text body ("invalid id", "invalid value
for idList", "The requested resource was not found."), not JSON; clients that parse error bodies
as JSON must be caught here, so the API layer turns this exception into ``text/plain``.
"""

from __future__ import annotations

NOT_FOUND = "The requested resource was not found."
UNAUTHORIZED = "unauthorized permission requested"


class TrelloError(Exception):
    """Raised anywhere in the emulator; answered as ``status`` with ``message`` as plain text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def invalid_value(field: str) -> TrelloError:
    """Trello's answer to a parameter it cannot accept (wrong type, too long, unknown id)."""
    return TrelloError(400, f"invalid value for {field}")
