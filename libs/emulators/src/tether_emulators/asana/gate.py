"""What happens to every ``/api/1.0/...`` request before its handler: outages, Bearer auth,
rate limits, the request body's ``data`` envelope, and the request log.

A plain ASGI middleware rather than FastAPI dependencies, because its effects must reach every
answer, including 404s and 400s raised in handlers (the request log that tests use to count
writes), and because the concurrency caps must hold a slot for the whole request.

Auth (https://developers.asana.com/docs/authentication): ``Authorization: Bearer <token>`` with
a personal access token or an OAuth access token; anything else is 401 "Not Authorized".
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether_emulators.asana.errors import NOT_AUTHORIZED, RATE_LIMITED, AsanaError
from tether_emulators.asana.outages import Outage, projects_concerned
from tether_emulators.asana.params import request_data
from tether_emulators.asana.store import Credential, User

if TYPE_CHECKING:
    from tether_emulators.asana.emulator import AsanaEmulator

API_PREFIX = "/api/1.0"
CONTEXT_KEY = "tether.asana"


@dataclass(frozen=True)
class RequestContext:
    """What handlers need: who calls, with which credential, and the request's ``data``."""

    user: User
    credential: Credential
    token: str
    data: dict[str, Any]
    query: dict[str, str]


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(error: AsanaError) -> Response:
    return Response(
        json.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


class AsanaGate:
    def __init__(self, app: ASGIApp, emulator: AsanaEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        scope = {**scope, "path": path, "raw_path": path.encode()}
        body = await _read_body(receive)
        receive = _replay(body, receive)
        statuses: list[int] = []

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            await self._handle(scope, receive, logged_send, body)
        finally:
            self.emulator.log_request(scope["method"], path, statuses[0] if statuses else 500)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        emulator = self.emulator
        request = Request(scope)
        outage = self._outage(request, body)
        if outage is not None:
            # Nothing is performed, checked or counted: the failing part of Asana would have.
            refusal = AsanaError(outage.status, outage.message)
            await error_response(refusal)(scope, receive, send)
            return
        found = self._credential(request)
        if found is None:
            await error_response(AsanaError(401, NOT_AUTHORIZED))(scope, receive, send)
            return
        token, credential = found
        retry_after = emulator.limiter.admit(token, scope["method"])
        if retry_after is not None:
            refusal = AsanaError(429, RATE_LIMITED, headers={"Retry-After": str(retry_after)})
            await error_response(refusal)(scope, receive, send)
            return
        try:
            await self._serve(scope, receive, send, body, token, credential)
        finally:
            emulator.limiter.release(token, scope["method"])

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        token: str,
        credential: Credential,
    ) -> None:
        request = Request(scope)
        try:
            data = request_data(request.headers.get("content-type", ""), body)
        except AsanaError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope[CONTEXT_KEY] = RequestContext(
            user=self.emulator.store.users[credential.user_gid],
            credential=credential,
            token=token,
            data=data,
            query=dict(request.query_params),
        )
        await self.app(scope, receive, send)

    def _credential(self, request: Request) -> tuple[str, Credential] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        credential = self.emulator.store.tokens.get(token.strip())
        if credential is None:
            return None
        expires_at = credential.expires_at
        if expires_at is not None and self.emulator.now() >= expires_at:
            return None  # an OAuth access token lives an hour
        return token.strip(), credential

    def _outage(self, request: Request, body: bytes) -> Outage | None:
        outages = self.emulator.outages
        if not outages:
            return None
        data: dict[str, Any] = {}
        with contextlib.suppress(AsanaError):
            data = request_data(request.headers.get("content-type", ""), body)
        projects = projects_concerned(
            self.emulator.store, request.url.path, dict(request.query_params), data
        )
        return outages.refusing(projects)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["API_PREFIX", "CONTEXT_KEY", "AsanaGate", "RequestContext", "error_response"]
