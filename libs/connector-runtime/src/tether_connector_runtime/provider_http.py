"""One credential's calls to a provider's HTTP API: its budgets, its secret kept out of every
message, and each failed answer turned into the runtime's provider errors.

An adapter's client supplies what is its provider's own: the base URL, the authorization
header, which budgets a call spends and how the provider words a failure. The rest is the same
for every provider and lives here once:

- each call waits for room in its budgets (``ratelimit.RateLimiter``), and the answer's
  headers (``Retry-After``, ``X-RateLimit-*``) are learnt whatever its status;
- a timeout or a network failure is ``RetryableProviderError``; an answer >= 400 is the error
  :func:`retry.error_for_status` says, carrying the provider's words and the wait it asked for;
- the secret never appears in an error message (an URL or a body may echo it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tether_connector_runtime.provider_spans import provider_call
from tether_connector_runtime.ratelimit import RateLimiter, penalty_from_headers
from tether_connector_runtime.retry import (
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
    error_for_status,
)

T = TypeVar("T")

# How a provider words a failed answer (its error body read into one line).
Wording = Callable[[httpx.Response], str]
# The budgets one call spends, from its method and path.
Budgets = Callable[[str, str], tuple[str, ...]]


def budget_key(secret: str) -> str:
    """A stable key for a credential's budgets: a digest, never a piece of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ProviderHttp:
    """Calls to ``api_url`` with one credential.

    ``name``: the provider as people read it ("Asana", "Jira"), used in messages.
    ``headers``: sent with every call (the authorization among them). ``secret``: the
    credential's text, redacted from messages. ``limiter``: the process's budgets (None: not
    limited here); ``budgets(method, path)`` names those a call spends. ``wording``: the
    provider's error body as one line.
    """

    http: httpx.AsyncClient
    api_url: str
    name: str
    headers: dict[str, str]
    secret: str
    limiter: RateLimiter | None
    budgets: Budgets
    wording: Wording

    def redact(self, text: str) -> str:
        return text.replace(self.secret, "[redacted]") if self.secret else text

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer of ``method`` on ``api_url + path``, whatever its status;
        ``RetryableProviderError`` when none came (timeout, network)."""
        url = f"{self.api_url.rstrip('/')}{path}"
        headers = {**self.headers, **kwargs.pop("headers", {})}
        with provider_call(self.name, method, path, self.redact) as noted:
            try:
                if self.limiter is None:
                    return noted(await self.http.request(method, url, headers=headers, **kwargs))
                async with self.limiter.acquire(*self.budgets(method, path)) as permit:
                    response = await self.http.request(method, url, headers=headers, **kwargs)
                    permit.learn(response.headers)  # Retry-After holds every budget of the call
                    return noted(response)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                message = self.redact(f"{self.name} unreachable: {exc!r}")
                raise RetryableProviderError(message) from exc

    def error(self, method: str, path: str, response: httpx.Response) -> ProviderError:
        """The provider error a failed answer stands for, in the provider's words."""
        status = response.status_code
        said = self.redact(self.wording(response))
        if status == 401:
            message = f"{self.name} refused the credentials: {said}"
        else:
            message = f"{self.name} {status} on {method} {self.redact(path)}: {said}"
        retry_after = penalty_from_headers(response.headers)
        error = error_for_status(status, message, retry_after=retry_after)
        return error if error is not None else ProviderError(message, status=status)

    async def checked(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer of a call; the provider error for any status >= 400."""
        response = await self.send(method, path, **kwargs)
        if response.status_code >= 400:
            raise self.error(method, path, response)
        return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; ``{}`` for an empty body, another JSON type, or no JSON."""
    try:
        decoded = response.json()
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def unless_missing(call: Awaitable[T]) -> T | None:
    """``call``'s answer, or None when the provider answered 404 (the item is gone, or was
    never there: providers say the same for an item the account may not see)."""
    try:
        return await call
    except PermanentProviderError as exc:
        if exc.status == 404:
            return None
        raise
