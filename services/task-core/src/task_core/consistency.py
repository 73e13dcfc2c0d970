"""Read-your-writes across task-core's replicas and its read replica.

Every write a tenant makes through the API answers with ``X-Tether-Read-After``: the primary's
WAL position once the write committed. A read sent with that header is served by the read
replica only once the replica has replayed that far, else by the primary; the gateway keeps
each tenant's latest position and sends it, so the next read sees the write whichever
task-core replica answers it. The process that made the write also pins the tenant itself
(``TETHER_TASK_CORE_READ_YOUR_WRITES_SECONDS``), for callers that do not send the header back.

Changes task-core's consumers apply (a provider's edit merged, a link turning active) pin
nothing: no caller made them, so a read a moment before the replica has them is the same as a
read a moment before they arrived.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError

from task_core.state import STATE_KEY, TaskCoreState
from tether_common.read_replica import READ_AFTER_HEADER, InvalidLsn, format_lsn, parse_lsn

log = structlog.get_logger(__name__)

PRIMARY_ONLY = 2**64 - 1  # a WAL position no replica reaches
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TENANT_PATH = re.compile(r"^/internal/v1/tenants/([^/]+)/")


def read_after(
    header: Annotated[
        str | None,
        Header(
            alias=READ_AFTER_HEADER,
            max_length=17,
            description="A WAL position a write answered with: the read reflects that write",
        ),
    ] = None,
) -> int | None:
    if header is None:
        return None
    try:
        return parse_lsn(header)
    except InvalidLsn as exc:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("header", READ_AFTER_HEADER),
                    "msg": str(exc),
                    "input": header,
                }
            ]
        ) from exc


async def pin_writes(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware: after a tenant's successful write, pin the tenant and answer with the
    WAL position its reads must reflect (nothing without a read replica)."""
    response = await call_next(request)
    match = _TENANT_PATH.match(request.url.path)
    state = getattr(request.app.state, STATE_KEY, None)
    if (
        request.method not in _WRITES
        or match is None
        or not isinstance(state, TaskCoreState)
        or not 200 <= response.status_code < 300
    ):
        return response
    tenant_id = match.group(1)
    try:
        lsn = await state.reads.wrote(tenant_id)
    except Exception as exc:  # the write is done; only its position is missing
        # No position to hand out: this process reads the tenant from the primary for the pin
        # window (no replica position reaches this one); another process may read it from
        # the replica before it has the write. Logged, not turned into a failed write.
        state.reads.pins.note(tenant_id, PRIMARY_ONLY)
        log.warning("write_position_unknown", tenant_id=tenant_id, error=repr(exc))
        return response
    if lsn is not None:
        response.headers[READ_AFTER_HEADER] = format_lsn(lsn)
    return response


ReadAfter = Annotated[int | None, Depends(read_after)]
