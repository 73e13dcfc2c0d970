"""What a failed provider call means, and retrying the ones worth retrying.

Connectors turn every provider response into either a value or one of these exceptions (see
:func:`error_for_status`), so the sync code and the dead-letter policy never look at HTTP.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

T = TypeVar("T")

# 408 Request Timeout, 409 Conflict (Jira: a concurrent edit), 425 Too Early, 429 Too Many
# Requests: the same request can succeed later. Every other 4xx will fail the same way again.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


class ProviderError(Exception):
    """A provider call failed. ``status`` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableProviderError(ProviderError):
    """Worth trying again: rate limited, provider overloaded, network trouble.
    ``retry_after``: seconds the provider asked us to wait, when it said."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """The same call will fail again (validation error, item gone, no permission)."""


class AuthRevokedError(PermanentProviderError):
    """401: the user's grant is gone (revoked, expired). Mark the connection broken and tell the
    user; retrying cannot help and would only burn the rate limit."""


class RetriesExhausted(ProviderError):
    """Every attempt failed with a retryable error; ``last_error`` is the final one."""

    def __init__(self, last_error: BaseException, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last_error}")
        self.last_error = last_error
        self.attempts = attempts


def error_for_status(
    status: int, message: str, *, retry_after: float | None = None
) -> ProviderError | None:
    """The exception a response with ``status`` stands for; ``None`` for success (< 400)."""
    if status < 400:
        return None
    if status == 401:
        return AuthRevokedError(message, status=status)
    if status >= 500 or status in RETRYABLE_4XX:
        return RetryableProviderError(message, retry_after=retry_after, status=status)
    return PermanentProviderError(message, status=status)


def is_retryable(exc: BaseException) -> bool:
    """Retryable provider errors, timeouts and connection failures (ours or httpx's)."""
    return isinstance(
        exc,
        RetryableProviderError | TimeoutError | ConnectionError | httpx.TransportError,
    )


def _retry_after(exc: BaseException | None) -> float | None:
    return exc.retry_after if isinstance(exc, RetryableProviderError) else None


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_if: Callable[[BaseException], bool] = is_retryable,
) -> T:
    """Call ``fn`` up to ``attempts`` times while it fails with a retryable error.

    Waits use exponential backoff with full jitter (uniform in [0, min(max_delay, base * 2^n)])
    so many workers hit by the same outage do not retry in lockstep; a provider's own
    ``retry_after`` replaces the backoff (plus a little jitter) because waiting less just earns
    another 429. Non-retryable errors propagate at once; the last retryable one comes out
    wrapped in :class:`RetriesExhausted`.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def wait(state: RetryCallState) -> float:
        after = _retry_after(state.outcome.exception() if state.outcome else None)
        if after is not None:
            return after + random.uniform(0, base_delay)
        return random.uniform(0, min(max_delay, base_delay * 2 ** (state.attempt_number - 1)))

    retrying = AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(attempts),
        wait=wait,
        # Never retry cancellation or other BaseExceptions: shutdown must stay prompt.
        retry=retry_if_exception(lambda e: isinstance(e, Exception) and retry_if(e)),
        reraise=True,
    )
    try:
        return await retrying(fn)
    except Exception as exc:
        if retry_if(exc):
            raise RetriesExhausted(exc, attempts) from exc
        raise
