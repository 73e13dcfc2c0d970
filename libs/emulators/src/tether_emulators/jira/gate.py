"""What happens to every Jira API request before its handler: outages, auth, rate limits, the
handlers' context, and the request log (common/gate.py).

Two ways in, as on Jira Cloud:

- the site (``https://<site>.atlassian.net``, the emulator's root here): ``/rest/api/3/...`` and
  ``/rest/webhooks/1.0/...`` with Basic auth of ``email:api_token``
  (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/); wrong or
  missing credentials are a 401 (this site allows no anonymous access);
- the API gateway (``https://api.atlassian.com``): ``/ex/jira/{cloudId}/rest/api/3/...`` with an
  OAuth 2.0 ``Bearer`` access token; a bad or expired token is a 401 ``{"code": 401,
  "message": "Unauthorized"}``, a token lacking the scope a call needs a 401 "Unauthorized;
  scope does not match" (write:jira-work for writes, manage:jira-webhook for webhooks).

The gateway's prefix is cut before routing, so both ways reach the same handlers.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tether_emulators.common.gate import ApiGate
from tether_emulators.common.outages import Outage
from tether_emulators.jira.emulator import JiraEmulator
from tether_emulators.jira.errors import JiraError, error_response
from tether_emulators.jira.limits import Refusal
from tether_emulators.jira.outages import projects_concerned, written_issue
from tether_emulators.jira.outages import refusal as outage_refusal
from tether_emulators.jira.store import User, jira_time

CONTEXT_KEY = "tether.jira"
GATEWAY_PREFIX = "/ex/jira/"
SITE_UNAUTHENTICATED = "Client must be authenticated to access this resource."


@dataclass(frozen=True)
class RequestContext:
    """Who calls: the user, and the OAuth app's client id (None with Basic auth)."""

    user: User
    app: str | None
    body: bytes

    def json(self) -> object:
        """The request body as JSON; a 400 in Jira's words when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise JiraError(400, "Unexpected character in the request body.") from None


def is_api_path(path: str) -> bool:
    return path.startswith(("/rest/", GATEWAY_PREFIX))


def _gateway_error(message: str) -> Response:
    body = json.dumps({"code": 401, "message": message})
    return Response(body, status_code=401, media_type="application/json")


class JiraGate(ApiGate[JiraEmulator]):
    """Outages, Basic or Bearer auth, rate limits and the context for Jira's API paths."""

    applies_to = staticmethod(is_api_path)

    def scopes_concerned(self, scope: Scope, body: bytes) -> set[str]:
        return projects_concerned(self.emulator.store, _site_path(scope["path"]), body)

    def refusal(self, outage: Outage) -> Response:
        return outage_refusal(outage)

    async def admit(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        path: str = scope["path"]
        if path.startswith(GATEWAY_PREFIX):
            found = self._bearer(scope)
            if isinstance(found, Response):
                await found(scope, receive, send)
                return
            user, app = found
            path = _site_path(path)
            scope = {**scope, "path": path, "raw_path": path.encode()}
        else:
            basic, app = self._basic(Request(scope)), None
            if basic is None:
                answer = Response(SITE_UNAUTHENTICATED, 401, media_type="text/plain")
                answer.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                await answer(scope, receive, send)
                return
            user = basic
        written = written_issue(self.emulator.store, scope["method"], path)
        refused = self.emulator.limiter.admit(scope["method"], path, written)
        if refused is not None:
            await self._too_many(refused)(scope, receive, send)
            return
        scope[CONTEXT_KEY] = RequestContext(user, app, body)
        await self.app(scope, receive, send)

    def _basic(self, request: Request) -> User | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            email, _, token = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        account_id = self.emulator.store.tokens.get((email, token))
        return self.emulator.store.users.get(account_id or "")

    def _bearer(self, scope: Scope) -> tuple[User, str] | Response:
        cloud_id, _, _ = scope["path"].removeprefix(GATEWAY_PREFIX).partition("/")
        scheme, _, token = Request(scope).headers.get("authorization", "").partition(" ")
        access = self.emulator.oauth.access(token.strip()) if scheme.lower() == "bearer" else None
        user = self.emulator.store.users.get(access.account_id) if access else None
        if access is None or user is None:
            return _gateway_error("Unauthorized")
        if cloud_id != self.emulator.site.cloud_id:
            return Response(
                json.dumps({"code": 404, "message": "Not Found"}),
                404,
                media_type="application/json",
            )
        needed = _scope_needed(scope["method"], _site_path(scope["path"]))
        if needed is not None and needed not in access.scopes:
            return _gateway_error("Unauthorized; scope does not match")
        return user, access.client_id

    def _too_many(self, refused: Refusal) -> Response:
        reset = jira_time(self.emulator.now() + timedelta(seconds=refused.retry_after))
        headers = {
            "Retry-After": str(refused.retry_after),
            "X-RateLimit-Limit": str(refused.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset[:16] + "Z",
            "RateLimit-Reason": refused.reason,
        }
        return error_response(JiraError(429, "Rate limit exceeded.", headers=headers))


def _site_path(path: str) -> str:
    """``/ex/jira/{cloudId}/rest/...`` -> ``/rest/...``; site paths unchanged."""
    if not path.startswith(GATEWAY_PREFIX):
        return path
    _, _, rest = path.removeprefix(GATEWAY_PREFIX).partition("/")
    return "/" + rest


def _scope_needed(method: str, path: str) -> str | None:
    if path.startswith("/rest/api/3/webhook"):
        return "manage:jira-webhook"
    if method.upper() in ("GET", "HEAD") or path.endswith("/search/jql"):
        return None  # reads (read:jira-work and read:jira-user) are not checked
    return "write:jira-work"


__all__ = ["CONTEXT_KEY", "JiraGate", "RequestContext", "is_api_path"]
