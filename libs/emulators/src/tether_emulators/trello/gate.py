"""What happens to every ``/1/...`` request before its handler: outages, parameters, auth, rate
limits.

A plain ASGI middleware (common/gate.py says why, and keeps the request log), so that the
``x-rate-limit-*`` headers reach every answer, including 404s and 400s raised in handlers.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from tether_emulators.common.gate import ApiGate
from tether_emulators.common.outages import Outage
from tether_emulators.trello.emulator import TrelloEmulator
from tether_emulators.trello.errors import TrelloError
from tether_emulators.trello.oauth import OAUTH_PATHS
from tether_emulators.trello.outages import boards_concerned
from tether_emulators.trello.outages import refusal as outage_refusal
from tether_emulators.trello.params import parse_body

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


class TrelloGate(ApiGate[TrelloEmulator]):
    """Outages, parameters, auth and rate limits for ``/1``; the rest is common/gate.py."""

    applies_to = staticmethod(is_api_path)

    def scopes_concerned(self, scope: Scope, body: bytes) -> set[str]:
        request = Request(scope)
        params: dict[str, Any] = dict(request.query_params)
        # A body Trello cannot read leaves the query to name the board, if anything does.
        with contextlib.suppress(TrelloError):
            params.update(parse_body(request.headers.get("content-type", ""), body))
        return boards_concerned(self.emulator.store, scope["method"], scope["path"], params)

    def refusal(self, outage: Outage) -> Response:
        return outage_refusal(outage)

    async def admit(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
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
