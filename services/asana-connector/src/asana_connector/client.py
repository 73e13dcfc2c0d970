"""Asana's REST API, as much of it as the connector speaks (PROVIDERS.md, Asana).

Every body is wrapped: requests send ``{"data": {...}}`` and answers carry ``{"data": ...}``
(https://developers.asana.com/docs/inputoutput-options). Failures come as
``{"errors": [{"message", "help"}]}`` (https://developers.asana.com/docs/errors) and become
the runtime's provider errors: 429, 5xx and network trouble ``RetryableProviderError`` (with
the ``Retry-After`` Asana sends), 401 ``AuthRevokedError``, any other 4xx
``PermanentProviderError`` carrying Asana's message and the status.

Lists are paged with ``limit`` (1-100) and the opaque ``offset`` of each answer's
``next_page`` (https://developers.asana.com/docs/pagination).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tether_connector_runtime.ratelimit import Budget, RateLimiter, penalty_from_headers
from tether_connector_runtime.retry import (
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
    error_for_status,
)

PAGE_LIMIT = 100
# https://developers.asana.com/docs/rate-limits: 150 requests a minute per token on a free
# workspace (1500 paid), and at most 50 GETs and 15 writes in flight per token; refused
# requests count too, which our own count already does (every call is spent before it is sent).
FREE_PER_MINUTE = 150
MAX_READS_IN_FLIGHT = 50
MAX_WRITES_IN_FLIGHT = 15
# The in-flight budgets cap concurrency only; their rate is set out of reach.
_UNCOUNTED = 1_000_000


def asana_budgets(per_minute: int = FREE_PER_MINUTE) -> dict[str, Budget]:
    """One window of ``per_minute`` (kept below it) and the two in-flight caps, per token."""
    return {
        "minute:": Budget.below(per_minute, 60.0),
        "reads:": Budget(_UNCOUNTED, 1.0, max_in_flight=MAX_READS_IN_FLIGHT),
        "writes:": Budget(_UNCOUNTED, 1.0, max_in_flight=MAX_WRITES_IN_FLIGHT),
    }


def asana_limiter(per_minute: int = FREE_PER_MINUTE) -> RateLimiter:
    return RateLimiter(asana_budgets(per_minute))


class SyncTokenExpired(Exception):
    """``GET /events`` answered 412: the token given was unknown or older than 24 hours (or
    there was none); ``sync`` is the fresh token Asana handed out with it."""

    def __init__(self, sync: str) -> None:
        super().__init__("Asana's sync token is unknown or expired")
        self.sync = sync


def _segment(value: str) -> str:
    # A gid is digits, but it comes from requests and stored rows: escape it so a path names
    # only what it says (no ``../``, ``?`` or ``#`` reaching another route).
    return quote(value, safe=":")


def path(*segments: str) -> str:
    """``/a/b`` from raw segments, each escaped."""
    return "".join(f"/{_segment(part)}" for part in segments)


def messages_of(response: httpx.Response) -> str:
    """Asana's ``errors[].message`` joined, or the start of the body when it is not JSON."""
    try:
        errors = response.json().get("errors") or []
        said = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        said = ""
    return said or response.text[:200]


class AsanaClient:
    """One token's view of Asana (a personal access token or an OAuth access token)."""

    def __init__(
        self, http: httpx.AsyncClient, *, api_url: str, token: str, limiter: RateLimiter | None
    ) -> None:
        """``limiter``: the process's budgets (None: calls are not limited here)."""
        self._http, self._api, self._token = http, api_url.rstrip("/"), token
        self._limiter = limiter
        # Budgets are per token; their keys hold a digest, never a piece of the token.
        self._key = hashlib.sha256(token.encode()).hexdigest()[:16]

    def _budgets(self, method: str) -> tuple[str, str]:
        kind = "reads" if method == "GET" else "writes"
        return f"minute:{self._key}", f"{kind}:{self._key}"

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        try:
            if self._limiter is None:
                return await self._http.request(method, url, headers=headers, **kwargs)
            async with self._limiter.acquire(*self._budgets(method)) as permit:
                response = await self._http.request(method, url, headers=headers, **kwargs)
                permit.learn(response.headers)  # Retry-After holds every budget of the call
                return response
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableProviderError(self._redact(f"Asana unreachable: {exc!r}")) from exc

    def _error(self, method: str, where: str, response: httpx.Response) -> ProviderError:
        status = response.status_code
        said = self._redact(messages_of(response))
        if status == 401:
            message = f"Asana refused the token: {said}"
        else:
            message = f"Asana {status} on {method} {self._redact(where)}: {said}"
        retry_after = penalty_from_headers(response.headers)
        error = error_for_status(status, message, retry_after=retry_after)
        return error if error is not None else ProviderError(message, status=status)

    async def raw(self, method: str, where: str, **kwargs: Any) -> httpx.Response:
        """The answer of a call, checked: a provider error for any status >= 400."""
        response = await self._send(method, f"{self._api}{where}", **kwargs)
        if response.status_code >= 400:
            raise self._error(method, where, response)
        return response

    async def call(
        self,
        method: str,
        where: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any:
        """The ``data`` of an answer; ``data`` is sent wrapped as ``{"data": data}``."""
        body = {"json": {"data": dict(data)}} if data is not None else {}
        response = await self.raw(method, where, params=dict(params or {}), **body)
        return response.json().get("data") if response.content else None

    async def pages(
        self, where: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a list, page after page (``limit`` 100, ``offset`` from
        ``next_page`` until it is null)."""
        query = {**(params or {}), "limit": str(PAGE_LIMIT)}
        while True:
            answer = (await self.raw("GET", where, params=query)).json()
            for item in answer.get("data") or []:
                yield dict(item)
            offset = (answer.get("next_page") or {}).get("offset")
            if not offset:
                return
            query = {**query, "offset": str(offset)}

    async def all(
        self, where: str, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return [item async for item in self.pages(where, params)]

    async def maybe(self, where: str, params: Mapping[str, str] | None = None) -> Any | None:
        """``GET`` that answers None for a 404 (a task trashed or never there)."""
        try:
            return await self.call("GET", where, params=params)
        except PermanentProviderError as exc:
            if exc.status == 404:
                return None
            raise

    async def events(self, resource: str, sync: str | None) -> dict[str, Any]:
        """One page of ``GET /events`` (https://developers.asana.com/reference/getevents):
        ``{"data": [event...], "sync": token, "has_more": bool}``; ``SyncTokenExpired`` for
        its 412 (no token, an unknown one, or one older than 24 hours)."""
        params = {"resource": resource} | ({"sync": sync} if sync else {})
        response = await self._send("GET", f"{self._api}/events", params=params)
        if response.status_code == 412:
            fresh = _json(response).get("sync")
            if not fresh:
                raise RetryableProviderError("Asana's 412 on /events carried no sync token")
            raise SyncTokenExpired(str(fresh))
        if response.status_code >= 400:
            raise self._error("GET", "/events", response)
        return _json(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        decoded = response.json()
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
