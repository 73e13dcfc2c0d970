"""What a test makes the fake provider do: faults that raise, holds that stop a call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tether_connector_runtime.retry import AuthRevokedError, RetryableProviderError

CallKind = Literal[
    "targets",
    "resolve",
    "place",
    "find_marked",
    "create",
    "read",
    "update",
    "archive",
    "restore",
    "check_grant",
    "ensure_webhook",
    "changes_since",
    "refresh",
    "revoke",
]
When = Literal["before", "after"]


def unavailable(message: str = "the provider is unavailable") -> Exception:
    """The default fault: a 503, which the pipeline parks and retries."""
    return RetryableProviderError(message, status=503)


def revoked(message: str = "the grant was revoked") -> Exception:
    return AuthRevokedError(message, status=401)


def no_access(message: str = "unauthorized card permission requested") -> Exception:
    """What a provider says, with a 401, of an item the account cannot see (Trello's answer
    for a card on a board the member is not on): the same error as a revoked grant."""
    return AuthRevokedError(message, status=401)


# What a fault raises: a provider error, or anything else (a test's model of a crash).
ErrorFactory = Callable[[], Exception]


@dataclass(eq=False)
class Hold:
    """A call stopped inside the provider. ``reached`` is set when the call arrives (before or
    after its effect, as asked); the call returns or raises once :meth:`release` is called."""

    kind: CallKind
    when: When
    container_id: str | None
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    async def wait_reached(self) -> None:
        await self.reached.wait()


@dataclass(eq=False)
class Fault:
    """A fault waiting for its calls (:meth:`FakeProvider.fail_next`)."""

    kind: CallKind
    remaining: int
    error: ErrorFactory
    container_id: str | None
    after_effect: bool
