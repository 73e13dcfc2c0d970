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

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tether_connector_runtime.provider_http import (
    ProviderHttp,
    budget_key,
    json_object,
    unless_missing,
)
from tether_connector_runtime.ratelimit import Budget, RateLimiter
from tether_connector_runtime.retry import RetryableProviderError

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


def _kind(method: str) -> str:
    return "reads" if method == "GET" else "writes"


class AsanaClient:
    """One token's view of Asana (a personal access token or an OAuth access token)."""

    def __init__(
        self, http: httpx.AsyncClient, *, api_url: str, token: str, limiter: RateLimiter | None
    ) -> None:
        """``limiter``: the process's budgets (None: calls are not limited here)."""
        key = budget_key(token)
        self._http = ProviderHttp(
            http=http,
            api_url=api_url,
            name="Asana",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secret=token,
            limiter=limiter,
            budgets=lambda method, _: (f"minute:{key}", f"{_kind(method)}:{key}"),
            wording=messages_of,
        )

    async def raw(self, method: str, where: str, **kwargs: Any) -> httpx.Response:
        """The answer of a call, checked: a provider error for any status >= 400."""
        return await self._http.checked(method, where, **kwargs)

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
        return await unless_missing(self.call("GET", where, params=params))

    async def events(self, resource: str, sync: str | None) -> dict[str, Any]:
        """One page of ``GET /events`` (https://developers.asana.com/reference/getevents):
        ``{"data": [event...], "sync": token, "has_more": bool}``; ``SyncTokenExpired`` for
        its 412 (no token, an unknown one, or one older than 24 hours)."""
        params = {"resource": resource} | ({"sync": sync} if sync else {})
        response = await self._http.send("GET", "/events", params=params)
        if response.status_code == 412:
            fresh = json_object(response).get("sync")
            if not fresh:
                raise RetryableProviderError("Asana's 412 on /events carried no sync token")
            raise SyncTokenExpired(str(fresh))
        if response.status_code >= 400:
            raise self._http.error("GET", "/events", response)
        return json_object(response)
