"""Jira Cloud's REST API v3, as much of it as the connector speaks (PROVIDERS.md, Jira Cloud).

Two ways in, one client: email + API token with Basic auth against the site
(``https://<site>.atlassian.net/rest/api/3``), or an OAuth 2.0 (3LO) access token as a Bearer
against ``https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3``
(https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/).

Failures come as an ``ErrorCollection`` ``{"errorMessages": [...], "errors": {field: message}}``
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#status-codes) and become
the runtime's provider errors through :class:`ProviderHttp`: 429 and 5xx retryable with the
``Retry-After`` Jira sends, 401 a refused grant, any other 4xx permanent with Jira's words.

Budgets (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/): bursts of 100
requests a second for GET/POST and 50 for PUT/DELETE per credential, and at most 20 writes to
one issue in 2 seconds (100 in 30). Calls are kept below them, so Jira's 429s stay rare. A 429
holds the budgets of its call for its ``Retry-After``; one that names a quota
(``RateLimit-Reason: jira-quota-global-based`` / ``jira-quota-tenant-based``) holds every call
of the credential until ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import base64
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
from tether_connector_runtime.ratelimit import Budget, RateLimiter, penalty_from_headers

PAGE_SIZE = 50  # Jira's default and usual maximum for project and createmeta pages
BURST_READS, BURST_WRITES = 100, 50  # requests a second, per credential
ISSUE_WRITES, ISSUE_WINDOW = 20, 2.0  # writes to one issue per window (seconds)
_WRITES = ("PUT", "DELETE")
# How long a quota 429 that says no reset pauses the credential (seconds): a quota is hourly.
QUOTA_PAUSE = 300.0


def jira_budgets() -> dict[str, Budget]:
    """The budgets a Jira credential spends: burst reads, burst writes, writes per issue."""
    return {
        "reads:": Budget.below(BURST_READS, 1.0),
        "writes:": Budget.below(BURST_WRITES, 1.0),
        "issue:": Budget.below(ISSUE_WRITES, ISSUE_WINDOW),
    }


def jira_limiter() -> RateLimiter:
    return RateLimiter(jira_budgets())


def basic_authorization(email: str, api_token: str) -> str:
    """``Basic base64(email:api_token)`` (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/)."""
    return "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode()


def path(*segments: str) -> str:
    """``/a/b`` from raw segments, each escaped (an issue key or id never reaches another route)."""
    return "".join(f"/{quote(part, safe='')}" for part in segments)


def messages_of(response: httpx.Response) -> str:
    """Jira's ``errorMessages`` and ``errors`` in one line, or the start of a body that is not
    an ``ErrorCollection`` (an OAuth gateway's ``{"code", "message"}`` included)."""
    body = json_object(response)
    said = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        said += [f"{field}: {message}" for field, message in errors.items()]
    if not said and body.get("message"):
        said.append(str(body["message"]))
    return "; ".join(said) or response.text[:200]


def _issue_of(where: str) -> str | None:
    """The issue a path writes to (``/issue/{key}`` and below), for its per-issue budget."""
    parts = where.strip("/").split("/")
    return (
        parts[1] if len(parts) >= 2 and parts[0] == "issue" and parts[1] != "createmeta" else None
    )


class JiraClient:
    """One credential's view of one Jira site. ``api_url`` ends in ``/rest/api/3``;
    ``authorization`` is the whole header value (Basic or Bearer); ``secret`` the credential's
    text, kept out of every message; ``limiter`` the process's budgets (None: not limited)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        authorization: str,
        secret: str,
        limiter: RateLimiter | None,
    ) -> None:
        key = budget_key(authorization)

        def budgets(method: str, where: str) -> tuple[str, ...]:
            kind = "writes" if method in _WRITES else "reads"
            issue = _issue_of(where) if method != "GET" else None
            return (f"{kind}:{key}",) + ((f"issue:{key}:{issue}",) if issue else ())

        self._limiter, self._key = limiter, key
        self._http = ProviderHttp(
            http=http,
            api_url=api_url,
            name="Jira",
            headers={"Authorization": authorization, "Accept": "application/json"},
            secret=secret,
            limiter=limiter,
            budgets=budgets,
            wording=messages_of,
        )

    async def call(
        self,
        method: str,
        where: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """The answer's JSON (None for an empty answer, such as a 204)."""
        kwargs: dict[str, Any] = {"params": dict(params or {})}
        if json is not None:
            kwargs["json"] = json
        response = await self._http.send(method, where, **kwargs)
        if response.status_code >= 400:
            if response.status_code == 429:
                self._respect_quota(response.headers)
            raise self._http.error(method, where, response)
        return response.json() if response.content else None

    def _respect_quota(self, headers: httpx.Headers) -> None:
        """A 429 for a quota (``RateLimit-Reason: jira-quota-...``, not a burst) stops every
        call of this credential until the quota resets: its reads and writes alike, not only
        the budgets of the refused call (PROVIDERS.md, Jira Cloud: rate limits)."""
        reason = headers.get("ratelimit-reason", "").lower()
        if self._limiter is None or "quota" not in reason:
            return
        wait = penalty_from_headers(headers, default=QUOTA_PAUSE)
        for kind in ("reads", "writes"):
            self._limiter.penalize(f"{kind}:{self._key}", wait)

    async def maybe(self, where: str, params: Mapping[str, str] | None = None) -> Any | None:
        """``GET`` that answers None for a 404 (an issue deleted, or one the user cannot see:
        Jira says the same for both)."""
        return await unless_missing(self.call("GET", where, params=params))

    async def pages(
        self, where: str, params: Mapping[str, str] | None = None, *, key: str = "values"
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (``startAt``/``maxResults``, until ``isLast`` or a short
        page); ``key`` names the list in each answer (``values``, ``issueTypes``)."""
        start = 0
        while True:
            query = {**(params or {}), "startAt": str(start), "maxResults": str(PAGE_SIZE)}
            answer = await self.call("GET", where, params=query) or {}
            items = [dict(item) for item in answer.get(key) or []]
            for item in items:
                yield item
            start += len(items)
            last = answer.get("isLast")
            if not items or last is True or (last is None and len(items) < PAGE_SIZE):
                return

    async def search(
        self,
        jql: str,
        fields: str,
        page_token: str | None = None,
        *,
        properties: str | None = None,
    ) -> dict[str, Any]:
        """One page of ``POST /search/jql``: ``{"issues": [...], "nextPageToken"?, "isLast"}``
        (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/):
        no ``total``, and only ids unless ``fields`` are named; ``properties``: entity
        property keys to include (comma-separated)."""
        body: dict[str, Any] = {"jql": jql, "fields": fields.split(","), "maxResults": PAGE_SIZE}
        if page_token:
            body["nextPageToken"] = page_token
        if properties:
            body["properties"] = properties.split(",")
        answer = await self.call("POST", "/search/jql", json=body)
        return dict(answer or {})
