"""The gate every API request passes before its handler: the plumbing the providers share.

A plain ASGI middleware rather than FastAPI dependencies, because its effects must reach every
answer, including 404s and 400s raised in handlers: the request log (method, path, status) that
tests use to count writes, and the provider's headers. ``ApiGate`` normalizes the path, reads
the body once (and replays it to the app), refuses requests that meet an outage and logs every
answer; a provider's gate (a subclass) says which outage scopes a request concerns, how a
refusal reads, and admits the rest (auth, rate limits, the handlers' context).
"""

from __future__ import annotations

import abc
import time
from typing import Generic, TypeVar

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether_emulators.common.emulator import Emulator
from tether_emulators.common.outages import Outage
from tether_emulators.common.request_log import EXCERPT_CHARS

E = TypeVar("E", bound=Emulator)


class ApiGate(abc.ABC, Generic[E]):
    """Serves the provider's API paths (``applies_to``) for ``emulator``; passes the rest on."""

    def __init__(self, app: ASGIApp, emulator: E) -> None:
        self.app = app
        self.emulator = emulator

    @staticmethod
    @abc.abstractmethod
    def applies_to(path: str) -> bool:
        """Whether ``path`` is the provider's API (the control API and OAuth pages are not)."""

    @abc.abstractmethod
    def scopes_concerned(self, scope: Scope, body: bytes) -> set[str]:
        """The outage scopes (boards, projects...) the request reads or changes."""

    @abc.abstractmethod
    def refusal(self, outage: Outage) -> Response:
        """The provider's answer to a request that meets ``outage``."""

    @abc.abstractmethod
    async def admit(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        """Check the request as the provider does (auth, limits) and hand it to the app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        received = time.time()
        # Providers' docs spell some paths with a trailing slash (Trello's /1/webhooks/); serve
        # both rather than redirecting, which clients do not follow on POST.
        path = scope["path"].rstrip("/") or "/"
        scope = {**scope, "path": path, "raw_path": path.encode()}
        body = await _read_body(receive)
        receive = _replay(body, receive)
        statuses: list[int] = []

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        try:
            outage = self._outage(scope, body)
            if outage is not None:
                # Nothing is performed, checked or counted: the failing part of the provider
                # would have done all of that.
                await self.refusal(outage)(scope, receive, logged_send)
            else:
                await self.admit(scope, receive, logged_send, body)
        finally:
            excerpt = "" if method == "GET" else _excerpt(scope, body)
            status = statuses[0] if statuses else 500
            self.emulator.requests.record(method, path, status, received=received, excerpt=excerpt)

    def _outage(self, scope: Scope, body: bytes) -> Outage | None:
        outages = self.emulator.outages
        if not outages:
            return None
        return outages.refusing(self.scopes_concerned(scope, body))


def _excerpt(scope: Scope, body: bytes) -> str:
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    head = body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
    return f"{query} {head}".strip()


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
