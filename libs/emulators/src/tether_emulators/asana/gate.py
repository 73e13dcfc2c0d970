"""What happens to every ``/api/1.0/...`` request before its handler: outages, Bearer auth,
rate limits, the request body's ``data`` envelope, and the request log.

A plain ASGI middleware (common/gate.py says why, and keeps the request log), also because the
concurrency caps must hold a slot for the whole request.

Auth (https://developers.asana.com/docs/authentication): ``Authorization: Bearer <token>`` with
a personal access token or an OAuth access token; anything else is 401 "Not Authorized".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tether_emulators.asana.emulator import AsanaEmulator
from tether_emulators.asana.errors import NOT_AUTHORIZED, RATE_LIMITED, AsanaError, error_response
from tether_emulators.asana.outages import projects_concerned
from tether_emulators.asana.outages import refusal as outage_refusal
from tether_emulators.asana.params import request_data
from tether_emulators.asana.store import Credential, User
from tether_emulators.common.gate import ApiGate
from tether_emulators.common.outages import Outage

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


class AsanaGate(ApiGate[AsanaEmulator]):
    """Outages, Bearer auth, rate limits and the ``data`` envelope for ``/api/1.0``; the rest is
    common/gate.py."""

    applies_to = staticmethod(is_api_path)

    def scopes_concerned(self, scope: Scope, body: bytes) -> set[str]:
        request = Request(scope)
        data: dict[str, Any] = {}
        with contextlib.suppress(AsanaError):
            data = request_data(request.headers.get("content-type", ""), body)
        return projects_concerned(
            self.emulator.store, request.url.path, dict(request.query_params), data
        )

    def refusal(self, outage: Outage) -> Response:
        return outage_refusal(outage)

    async def admit(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        emulator = self.emulator
        found = self._credential(Request(scope))
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


__all__ = ["API_PREFIX", "CONTEXT_KEY", "AsanaGate", "RequestContext"]
