"""What happens to every ``/1/...`` request before its handler: outages, parameters, auth, rate
limits.

A plain ASGI middleware rather than FastAPI dependencies, because its effects must reach every
answer, including 404s and 400s raised in handlers: the ``x-rate-limit-*`` headers and the
request log (method, path, status) that tests use to count writes.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether_emulators.trello.errors import TrelloError
from tether_emulators.trello.oauth import OAUTH_PATHS
from tether_emulators.trello.outages import Outage, boards_concerned
from tether_emulators.trello.params import parse_body

if TYPE_CHECKING:
    from tether_emulators.trello.emulator import TrelloEmulator

CONTEXT_KEY = "tether.trello"
_OAUTH_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class RequestContext:
    """What handlers need: the merged parameters and who is calling."""

    params: dict[str, Any]
    token: str
    member_id: str


def is_api_path(path: str) -> bool:
    return path == "/1" or path.startswith("/1/")


def oauth_credentials(authorization: str) -> tuple[str | None, str | None]:
    """``Authorization: OAuth oauth_consumer_key="K", oauth_token="T"`` -> (K, T)."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "oauth":
        return None, None
    values = {name: unquote(value) for name, value in _OAUTH_PARAM.findall(rest)}
    return values.get("oauth_consumer_key"), values.get("oauth_token")


class TrelloGate:
    def __init__(self, app: ASGIApp, emulator: TrelloEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        method: str = scope["method"]
        # Trello's docs spell some paths with a trailing slash (/1/webhooks/); serve both
        # rather than redirecting, which clients do not follow on POST.
        path = scope["path"].rstrip("/") or "/"
        scope = {**scope, "path": path, "raw_path": path.encode()}
        body = await _read_body(receive)
        receive = _replay(body, receive)
        status_seen: list[int] = []

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            outage = self._outage(scope, body)
            if outage is not None:
                # Nothing is performed, checked or counted: the failing part of Trello would
                # have done all of that.
                refusal = PlainTextResponse(outage.body, outage.status)
                await refusal(scope, receive, logged_send)
            else:
                await self._handle(scope, receive, logged_send, body)
        finally:
            emulator.log_request(method, path, status_seen[0] if status_seen else 500)

    def _outage(self, scope: Scope, body: bytes) -> Outage | None:
        """The outage this request meets, if any (outages.py)."""
        outages = self.emulator.outages
        if not outages:
            return None
        request = Request(scope)
        params: dict[str, Any] = dict(request.query_params)
        # A body Trello cannot read leaves the query to name the board, if anything does.
        with contextlib.suppress(TrelloError):
            params.update(parse_body(request.headers.get("content-type", ""), body))
        boards = boards_concerned(self.emulator.store, scope["method"], scope["path"], params)
        return outages.refusing(boards)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        if scope["path"] in OAUTH_PATHS:
            # OAuth 1.0a's endpoints take a signature made with the app secret, not a key and
            # token (oauth.py checks it); the emulator does not rate-limit them.
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        request = Request(scope)
        try:
            params: dict[str, Any] = dict(request.query_params)
            params.update(parse_body(request.headers.get("content-type", ""), body))
        except TrelloError as exc:
            await PlainTextResponse(exc.message, exc.status)(scope, receive, send)
            return
        header_key, header_token = oauth_credentials(request.headers.get("authorization", ""))
        key = params.get("key") or header_key
        token = params.get("token") or header_token
        # Trello answers both auth failures with 401 and a bare plain-text sentence.
        if key != emulator.api_key:
            await PlainTextResponse("invalid key", 401)(scope, receive, send)
            return
        member_id = emulator.store.tokens.get(token) if isinstance(token, str) else None
        if member_id is None or not isinstance(token, str):
            await PlainTextResponse("invalid token", 401)(scope, receive, send)
            return
        verdict = emulator.limiter.check(key, token, scope["path"])
        if not verdict.allowed:
            # Deliberately no Retry-After: Trello sends none, and clients must cope.
            refusal = Response(
                json.dumps({"error": verdict.error, "message": verdict.message}),
                status_code=429,
                media_type="application/json",
                headers=verdict.headers,
            )
            await refusal(scope, receive, send)
            return
        scope[CONTEXT_KEY] = RequestContext(params=params, token=token, member_id=member_id)

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in verdict.headers.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_limits)


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
