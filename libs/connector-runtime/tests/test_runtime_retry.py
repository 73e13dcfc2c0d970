"""Classifying provider failures and retrying the retryable ones."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    ProviderError,
    RetriesExhausted,
    RetryableProviderError,
    call_with_retries,
    error_for_status,
    is_retryable,
)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Flaky:
    """Fails with the given errors in turn, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (204, None),
        (400, PermanentProviderError),
        (401, AuthRevokedError),
        (403, PermanentProviderError),
        (404, PermanentProviderError),
        (422, PermanentProviderError),
        (408, RetryableProviderError),
        (409, RetryableProviderError),
        (425, RetryableProviderError),
        (429, RetryableProviderError),
        (500, RetryableProviderError),
        (503, RetryableProviderError),
    ],
)
def test_error_for_status(status: int, kind: type[ProviderError] | None) -> None:
    error = error_for_status(status, "msg", retry_after=3.0)
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind
        assert error is not None
        assert error.status == status


def test_auth_revoked_is_permanent_and_retry_after_is_kept() -> None:
    assert isinstance(AuthRevokedError("x"), PermanentProviderError)
    error = error_for_status(429, "slow down", retry_after=3.0)
    assert isinstance(error, RetryableProviderError)
    assert error.retry_after == 3.0


@pytest.mark.parametrize(
    "exc",
    [
        RetryableProviderError("x"),
        TimeoutError(),
        ConnectionResetError(),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
def test_transient_failures_are_retryable(exc: BaseException) -> None:
    assert is_retryable(exc)


@pytest.mark.parametrize(
    "exc", [PermanentProviderError("x"), AuthRevokedError("x"), ValueError(), KeyError()]
)
def test_other_failures_are_not(exc: BaseException) -> None:
    assert not is_retryable(exc)


async def test_retries_until_success_with_full_jitter() -> None:
    sleeps = Sleeps()
    fn = Flaky(RetryableProviderError("a"), TimeoutError(), httpx.ConnectError("c"))
    result = await call_with_retries(fn, attempts=5, base_delay=1.0, max_delay=3.0, sleep=sleeps)
    assert result == "ok"
    assert fn.calls == 4
    caps = [1.0, 2.0, 3.0]  # base * 2^n, capped at max_delay
    assert len(sleeps.delays) == 3
    assert all(0 <= d <= cap for d, cap in zip(sleeps.delays, caps, strict=True))


async def test_retry_after_replaces_the_backoff() -> None:
    sleeps = Sleeps()
    fn = Flaky(RetryableProviderError("429", retry_after=10.0))
    assert await call_with_retries(fn, base_delay=0.5, max_delay=1.0, sleep=sleeps) == "ok"
    assert 10.0 <= sleeps.delays[0] <= 10.5


async def test_permanent_errors_are_not_retried() -> None:
    sleeps = Sleeps()
    fn = Flaky(PermanentProviderError("bad request"))
    with pytest.raises(PermanentProviderError, match="bad request"):
        await call_with_retries(fn, attempts=5, sleep=sleeps)
    assert fn.calls == 1
    assert sleeps.delays == []


async def test_exhaustion_raises_with_the_last_error() -> None:
    last = RetryableProviderError("third")
    fn = Flaky(RetryableProviderError("first"), RetryableProviderError("second"), last)
    with pytest.raises(RetriesExhausted) as caught:
        await call_with_retries(fn, attempts=3, sleep=Sleeps())
    assert caught.value.last_error is last
    assert caught.value.attempts == 3
    assert fn.calls == 3


async def test_custom_predicate() -> None:
    fn = Flaky(ValueError("poison"), ValueError("poison"))
    with pytest.raises(RetriesExhausted):
        await call_with_retries(fn, attempts=2, sleep=Sleeps(), retry_if=lambda e: True)


async def test_cancellation_is_never_retried() -> None:
    fn = Flaky(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await call_with_retries(fn, sleep=Sleeps(), retry_if=lambda e: True)
    assert fn.calls == 1


async def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await call_with_retries(Flaky(), attempts=0)
