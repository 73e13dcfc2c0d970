"""Provider-independent webhook intake: size limit -> signature -> JSON -> dedupe -> handle.

Each connector supplies how its provider signs and identifies deliveries and what to do with
one; the order of checks and the answers are the same for all. A delivery is recorded as seen
only after ``handle`` succeeded: if handling fails the provider gets a 5xx and retries, and
the retry is processed (at-least-once); handlers stay idempotent for the rare double.
"""

from __future__ import annotations

import inspect
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tether_common.errors import ErrorJSONResponse, error_body
from tether_connector_runtime.signatures import (
    SignatureInvalid,
    asana_signature,
    constant_time_equals,
    jira_hub_signature,
    trello_signature,
    verify_asana_signature,
    verify_jira_hub_signature,
    verify_trello_signature,
)

log = structlog.get_logger(__name__)

Verify = Callable[[Request, bytes], Awaitable[None] | None]
DeliveryId = Callable[[Request, bytes], str]
Handle = Callable[[bytes, Request], Awaitable[None]]
Handshake = Callable[[Request], Awaitable[Response | None]]


class DeliveryLog(Protocol):
    async def seen(self, delivery_id: str) -> bool: ...

    async def record(self, delivery_id: str) -> None: ...


class InMemoryDeliveryLog:
    """The most recent ``max_entries`` delivery ids. Bounded because providers retry for hours
    at most (Asana up to 24 h) and memory must not grow with uptime; per process, so replicas
    behind a load balancer need the database-backed log."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._max = max_entries

    async def seen(self, delivery_id: str) -> bool:
        return delivery_id in self._ids

    async def record(self, delivery_id: str) -> None:
        self._ids[delivery_id] = None
        self._ids.move_to_end(delivery_id)
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)


class BodyTooLarge(Exception):
    pass


class MalformedDelivery(ValueError):
    """A verified body that is not a delivery of the provider's shape. Adapters' parsers raise
    it; the intake answers 400 for it as for any failure to read the body's shape."""


# What reading a body of an unexpected shape raises, in any adapter's parser: a missing key, a
# list where an object was due, a value of the wrong type. The provider signed the body, so it
# is no attack, but it is no delivery we can act on either: 400, never a 500.
_SHAPE_ERRORS = (MalformedDelivery, KeyError, IndexError, TypeError, ValueError, AttributeError)


async def read_limited(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing more than ``max_bytes``: checks the declared length early and the
    bytes actually streamed in (a client can lie about, or omit, Content-Length)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, code: str, message: str) -> JSONResponse:
    # The shape of tether_common.errors, so clients see one error format everywhere; its
    # response class, as the message may quote the body (text JSON cannot always carry).
    return ErrorJSONResponse(error_body(code, message), status_code=status)


def webhook_router(
    path: str,
    *,
    verify: Verify,
    delivery_id: DeliveryId,
    handle: Handle,
    seen: DeliveryLog | Callable[[Request], DeliveryLog],
    max_body_bytes: int = 1_000_000,
    handshake: Handshake | None = None,
) -> APIRouter:
    """``handshake``: answers set-up requests before any check (Asana's ``X-Hook-Secret`` echo)
    by returning a response; ``None`` lets the request through as a delivery. ``seen``: the
    delivery log, or how to find it from the request (state built at start-up)."""
    router = APIRouter()
    in_flight: set[str] = set()

    @router.head(path, include_in_schema=False)
    async def probe() -> Response:
        return Response(status_code=200)  # Trello checks the callback URL with HEAD first

    @router.post(path)
    async def deliver(request: Request) -> Response:
        if handshake is not None and (answer := await handshake(request)) is not None:
            return answer
        try:
            body = await read_limited(request, max_body_bytes)
        except BodyTooLarge:
            return _error(413, "payload_too_large", f"bodies are limited to {max_body_bytes} bytes")
        try:
            checked = verify(request, body)
            if inspect.isawaitable(checked):
                await checked
        except SignatureInvalid as exc:
            log.warning("webhook_signature_invalid", path=path, reason=str(exc))
            return _error(401, "signature_invalid", str(exc))
        try:
            json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _error(400, "malformed_json", f"body is not valid JSON: {exc}")
        except RecursionError:
            # Nested deeper than the parser goes: no provider sends that.
            return _error(400, "malformed_json", "body is nested too deeply")
        try:
            ident = delivery_id(request, body)
        except _SHAPE_ERRORS as exc:
            reason = str(exc) if isinstance(exc, MalformedDelivery) else repr(exc)
            return _error(400, "malformed_delivery", f"cannot read the delivery: {reason}")
        if ident in in_flight:
            # The same delivery is being handled right now: ask for a retry later rather than
            # answer 200 for work that may still fail.
            return _error(409, "delivery_in_progress", f"delivery {ident} is being processed")
        log_ = seen(request) if callable(seen) else seen
        if await log_.seen(ident):
            log.info("webhook_duplicate", path=path, delivery_id=ident)
            return JSONResponse({"status": "duplicate", "delivery_id": ident})
        in_flight.add(ident)
        try:
            await handle(body, request)
            await log_.record(ident)
        finally:
            in_flight.discard(ident)
        return JSONResponse({"status": "accepted", "delivery_id": ident})

    return router


__all__ = [
    "BodyTooLarge",
    "DeliveryLog",
    "InMemoryDeliveryLog",
    "MalformedDelivery",
    "SignatureInvalid",
    "asana_signature",
    "constant_time_equals",
    "jira_hub_signature",
    "read_limited",
    "trello_signature",
    "verify_asana_signature",
    "verify_jira_hub_signature",
    "verify_trello_signature",
    "webhook_router",
]
