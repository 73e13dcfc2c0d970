"""Read-your-writes for API clients, across gateway replicas too.

The gateway remembers each tenant's last task write (its WAL position, which task-core
answers with) and sends it with the tenant's reads; that memory is per gateway process. So the
position is also the client's: a write through the gateway answers with
``X-Tether-Read-After``, and a read that sends it back reflects that write whichever gateway
and task-core replica answer it. The header is advisory: a malformed one is ignored, and a
position from the future only sends the caller's own reads to the primary.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from fastapi import Request, Response

from tether_common.read_replica import READ_AFTER_HEADER, InvalidLsn, format_lsn, parse_lsn


@dataclass
class RequestPositions:
    """One request's WAL positions: what the client sent, and what its writes answered."""

    sent: int | None = None
    written: int | None = None

    def wrote(self, lsn: int) -> None:
        self.written = max(lsn, self.written or 0)


# The request's positions, for the task-core client deep below the endpoint (request-scoped:
# set and reset by the middleware around each request).
_CURRENT: ContextVar[RequestPositions | None] = ContextVar("tether_positions", default=None)


def current_positions() -> RequestPositions | None:
    return _CURRENT.get()


async def read_after_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    positions = RequestPositions(sent=_offered(request.headers.get(READ_AFTER_HEADER)))
    token = _CURRENT.set(positions)
    try:
        response = await call_next(request)
    finally:
        _CURRENT.reset(token)
    if positions.written is not None:
        response.headers[READ_AFTER_HEADER] = format_lsn(positions.written)
    return response


def _offered(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_lsn(value)
    except InvalidLsn:
        return None
