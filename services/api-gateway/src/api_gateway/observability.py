"""One structured log line per request, tagged with a request id that follows the request to
task-core, and with the ids its path names (task, link, connection). Headers are never
logged: they carry the caller's API token."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request, Response

log = structlog.get_logger("api_gateway.access")

# Accept a caller's id only if it is short and plain, so it cannot forge log lines.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Path parameters that name what a request is about, logged under their own names.
_PATH_IDS = ("task_id", "link_id", "connection_id")


def path_ids(request: Request) -> dict[str, str]:
    """The ids the request's route took from its path (empty before routing)."""
    return {
        name: str(request.path_params[name]) for name in _PATH_IDS if name in request.path_params
    }


async def bind_path_ids(request: Request) -> None:
    """An app-wide dependency (it runs once the route is known): every line logged while
    handling the request names the task, link or connection its path names."""
    structlog.contextvars.bind_contextvars(**path_ids(request))


async def request_log_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    offered = request.headers.get("x-request-id", "")
    request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        response = await call_next(request)
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            # Read once routing is done: the handler's bindings live in its own context.
            **path_ids(request),
        )
    response.headers["X-Request-ID"] = request_id
    return response
