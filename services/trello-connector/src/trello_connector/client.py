"""Trello's REST API, as much of it as the connector speaks (see PROVIDERS.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tether_connector_runtime.provider_http import budget_key
from tether_connector_runtime.provider_spans import provider_call
from tether_connector_runtime.ratelimit import (
    Budget,
    QuotaHeaders,
    RateLimiter,
    penalty_from_headers,
)
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)

# PROVIDERS.md: 100 requests / 10 s per token, 300 / 10 s per key, 100 / 900 s on /1/members/.
# Each response reports what is left of them (names as Trello sends them; the members ones as
# widely used clients read them); a 429 names the limit in its body and has no Retry-After.
TOKEN_LIMIT = QuotaHeaders(
    "x-rate-limit-api-token-remaining", window_ms="x-rate-limit-api-token-interval-ms"
)
KEY_LIMIT = QuotaHeaders(
    "x-rate-limit-api-key-remaining", window_ms="x-rate-limit-api-key-interval-ms"
)
MEMBERS_LIMIT = QuotaHeaders(
    "x-rate-limit-member-remaining", window_ms="x-rate-limit-member-interval-ms"
)
# Trello sends no Retry-After. Its per-token and per-key windows are 10 s and the members
# route's is 900 s, so waiting one window is the shortest pause that surely clears a 429.
TRELLO_WINDOW_SECONDS = 10.0
MEMBERS_WINDOW_SECONDS = 900.0


# Trello's published limits: 100 calls per 10 s per token, 300 per 10 s per app key
# (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/).
TOKEN_CALLS_PER_10S = 100
KEY_CALLS_PER_10S = 300


def trello_budgets(
    key_limit: int = KEY_CALLS_PER_10S, token_share: float = 0.8
) -> Mapping[str, Budget]:
    """Budgets below each of Trello's limits, each also held when Trello says it is spent.
    ``key_limit``: the app key's calls per 10 s (Trello raises it for an app on request);
    ``token_share``: the share of a token's limit Tether spends (its other apps spend the
    rest)."""
    token = Budget.below(TOKEN_CALLS_PER_10S, 10.0, safety=token_share, reported_in=TOKEN_LIMIT)
    return {
        "token:": token,
        "key:": Budget.below(key_limit, 10.0, reported_in=KEY_LIMIT),
        "members:": Budget.below(100, MEMBERS_WINDOW_SECONDS, reported_in=MEMBERS_LIMIT),
    }


TRELLO_BUDGETS: Mapping[str, Budget] = trello_budgets()


def trello_limiter(key_limit: int = KEY_CALLS_PER_10S, token_share: float = 0.8) -> RateLimiter:
    return RateLimiter(trello_budgets(key_limit, token_share))


# Trello's ids are 24 hex characters; boards and cards may also be named by their shortLink
# (8 letters and digits), which Trello takes wherever it takes their id.
_ID = re.compile(r"[0-9a-fA-F]{24}")
_SHORT_LINK = re.compile(r"[0-9A-Za-z]{8}")
# A credential sits in a quoted parameter of the Authorization header: RFC 7235's token68
# alphabet only. A quote, comma, CR or LF would let it end its parameter and add others
# (``a", oauth_token="b`` would call Trello as someone else).
_CREDENTIAL = re.compile(r"[A-Za-z0-9._~+/=-]{1,512}")
_REDACTED = "[redacted]"


class InvalidTrelloId(PermanentProviderError):
    """An id that names nothing in Trello (refused before any call: it would go into a URL
    path, where ``../``, ``?`` or ``#`` could reach another route)."""

    def __init__(self, kind: str, value: str, *, short_link: bool) -> None:
        shape = "24 hex characters" + (" or an 8-character shortLink" if short_link else "")
        super().__init__(f"not a Trello {kind} id ({shape}): {value[:40]!r}", status=400)


class MalformedCredentials(AuthRevokedError):
    """A key or token Trello never issues; it is refused before it reaches a header, and, like
    a token Trello refuses, can never work."""


def is_credential(value: str) -> bool:
    """Whether ``value`` can be an app key or token (and so sit in the OAuth header)."""
    return _CREDENTIAL.fullmatch(value) is not None


def trello_id(kind: str, value: str, *, short_link: bool = False) -> str:
    """``value`` if it is a Trello id of ``kind`` (or a shortLink, where Trello takes one);
    ``InvalidTrelloId`` otherwise."""
    if _ID.fullmatch(value) or (short_link and _SHORT_LINK.fullmatch(value)):
        return value
    raise InvalidTrelloId(kind, value, short_link=short_link)


def _segment(value: str) -> str:
    # Every segment escaped, ids validated or not: a path names only what it says.
    return quote(value, safe="")


class TrelloClient:
    """One user's view of Trello: the app key plus that user's token.

    Credentials travel in the ``Authorization: OAuth`` header rather than the query string, so
    they never appear in access logs or in error messages that quote the URL.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        key: str,
        token: str,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._http = http
        self._api = api_url.rstrip("/")
        self._key = key
        self._token = token
        # Budget keys: digests, made once per client rather than per call.
        self._token_budget = budget_key(token)
        self._key_budget = budget_key(key)
        self._limiter = limiter

    def _budgets(self, path: str) -> tuple[str, ...]:
        """The budgets a call spends: its token's, the app key's, and on ``/1/members/`` that
        route's own (counted per token, as the emulator does; Trello does not say)."""
        # A digest of the whole token: two tokens sharing their last characters must not share
        # a budget, and no piece of a token sits in the limiter's keys.
        token = self._token_budget
        budgets: tuple[str, ...] = (f"token:{token}", f"key:{self._key_budget}")
        if path == "/members" or path.startswith("/members/"):
            budgets += (f"members:{token}",)
        return budgets

    def _authorization(self) -> str:
        if not is_credential(self._key):
            raise MalformedCredentials(
                "the Trello app key is malformed: check TETHER_TRELLO_API_KEY"
            )
        if not is_credential(self._token):
            raise MalformedCredentials(
                "not a Trello token: a token has only letters, digits and -._~+/= characters"
            )
        return f'OAuth oauth_consumer_key="{self._key}", oauth_token="{self._token}"'

    def _redact(self, text: str) -> str:
        """``text`` (an answer's body, a path) without our credentials: error messages travel
        to logs, link errors and API answers, none of which may show the key or the token."""
        for secret in (self._token, self._key):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text

    async def _send(
        self, method: str, path: str, budgets: tuple[str, ...], **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": self._authorization()}
        url = f"{self._api}{path}"
        with provider_call("Trello", method, path, self._redact) as noted:
            if self._limiter is None:
                return noted(await self._http.request(method, url, headers=headers, **kwargs))
            async with self._limiter.acquire(*budgets) as permit:
                response = await self._http.request(method, url, headers=headers, **kwargs)
                permit.learn(response.headers)
                return noted(response)

    def _rate_limited(self, budgets: tuple[str, ...], response: httpx.Response) -> float:
        """Pause the budget a 429 names and return for how long. Its headers, learnt already,
        usually hold that budget too; this covers a 429 without them."""
        scope = _refused_budget(budgets, response)
        window = MEMBERS_WINDOW_SECONDS if scope.startswith("members:") else TRELLO_WINDOW_SECONDS
        asked = penalty_from_headers(response.headers)
        pause = window if asked is None else asked
        if self._limiter is not None:
            self._limiter.penalize(scope, pause)
        return pause

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        budgets = self._budgets(path)
        try:
            response = await self._send(method, path, budgets, **kwargs)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableProviderError(self._redact(f"Trello unreachable: {exc!r}")) from exc
        said = self._redact(response.text[:200])
        if response.status_code == 429:
            raise RetryableProviderError(
                f"Trello rate limit: {said}",
                retry_after=self._rate_limited(budgets, response),
                status=429,
            )
        if response.status_code >= 500:
            raise RetryableProviderError(
                f"Trello {response.status_code}: {said}",
                retry_after=penalty_from_headers(response.headers),
                status=response.status_code,
            )
        if response.status_code == 401:
            raise AuthRevokedError(f"Trello refused the token: {said}")
        if response.status_code >= 400:
            raise PermanentProviderError(
                f"Trello {response.status_code} on {method} {self._redact(path)}: {said}",
                status=response.status_code,
            )
        return response.json() if response.content else None

    async def me(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/members/me"))

    async def boards(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/members/me/boards", params={"filter": "open"}))

    async def lists(self, board_id: str) -> list[dict[str, Any]]:
        return list(
            await self._call(
                "GET", _path("boards", trello_id("board", board_id, short_link=True), "lists")
            )
        )

    async def list_(self, list_id: str) -> dict[str, Any]:
        return dict(await self._call("GET", _path("lists", trello_id("list", list_id))))

    async def board_cards(self, board_id: str) -> list[dict[str, Any]]:
        return list(
            await self._call(
                "GET",
                _path("boards", trello_id("board", board_id, short_link=True), "cards", "all"),
            )
        )

    async def card(self, card_id: str) -> dict[str, Any] | None:
        try:
            path = _path("cards", trello_id("card", card_id, short_link=True))
            return dict(await self._call("GET", path))
        except PermanentProviderError as exc:
            if exc.status == 404:
                return None
            raise

    async def create_card(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", "/cards", json=params))

    async def update_card(self, card_id: str, params: dict[str, Any]) -> dict[str, Any]:
        path = _path("cards", trello_id("card", card_id, short_link=True))
        return dict(await self._call("PUT", path, json=params))

    async def create_webhook(
        self, *, callback_url: str, model_id: str, description: str
    ) -> dict[str, Any]:
        return dict(
            await self._call(
                "POST",
                "/webhooks",
                json={
                    "callbackURL": callback_url,
                    "idModel": model_id,
                    "description": description,
                    "active": True,
                },
            )
        )

    async def token_webhooks(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", _path("tokens", self._token, "webhooks")))

    async def board_actions(
        self,
        board_id: str,
        *,
        filter: str,
        since: str | None = None,
        before: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """One page of the board's actions of the ``filter`` types, newest first: those after
        ``since`` and before ``before`` (action ids or dates), at most ``limit`` (1-1000)."""
        params = {"filter": filter, "limit": str(limit)}
        if since is not None:
            params["since"] = since
        if before is not None:
            params["before"] = before
        return list(
            await self._call(
                "GET",
                _path("boards", trello_id("board", board_id, short_link=True), "actions"),
                params=params,
            )
        )


def _path(*segments: str) -> str:
    return "".join(f"/{_segment(part)}" for part in segments)


def _refused_budget(budgets: tuple[str, ...], response: httpx.Response) -> str:
    """Which of a call's budgets (token, key[, members]) its 429 concerns: the body's ``error``
    names the token or key limit; anything else on the members route is that route's limit
    (Trello words it ``RATE_LIMIT_EXCEEDED``), elsewhere the token's."""
    try:
        error = json.loads(response.content).get("error")
    except (ValueError, AttributeError):
        error = None
    if error == "API_KEY_LIMIT_EXCEEDED":
        return budgets[1]
    if error == "API_TOKEN_LIMIT_EXCEEDED" or len(budgets) < 3:
        return budgets[0]
    return budgets[2]
