"""Withheld answers: the provider did the work, but its answer never reached the client.

A hold covers the next ``count`` API requests with a given method and path. Each is performed in
full (a card or task is created and stored, the request is logged, webhooks fire), but its
response is kept back until a test releases it or the client hangs up. That is the window crash
tests need: the provider has the item, the caller has not heard of it, and the caller dies
right there.

A middleware outside the gate, so a held request is exactly what an answered one would have
been: the gate, the handlers and the request log never know the answer was withheld.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = dict[str, Any]


def _normalized(method: str, path: str) -> tuple[str, str]:
    # The gates serve /1/cards and /1/cards/ alike, so a hold must match both spellings.
    return method.upper(), path.rstrip("/") or "/"


@dataclass
class HoldRule:
    """Withhold the answers of the next ``remaining`` requests to ``method path``."""

    method: str
    path: str
    remaining: int

    def to_json(self) -> JSON:
        return {"method": self.method, "path": self.path, "remaining": self.remaining}


@dataclass
class HeldAnswer:
    """A performed request whose answer waits for ``release``."""

    id: int
    method: str
    path: str
    status: int
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> JSON:
        return {"id": self.id, "method": self.method, "path": self.path, "status": self.status}


class ResponseHolds:
    """The armed rules, the answers waiting now, and what became of the earlier ones."""

    def __init__(self) -> None:
        self.rules: list[HoldRule] = []
        self.waiting: dict[int, HeldAnswer] = {}
        self.delivered = 0  # released, then sent to a client still listening
        self.abandoned = 0  # the client hung up (or died) while its answer was held
        self._ids = itertools.count(1)

    def arm(self, method: str, path: str, count: int) -> HoldRule:
        method, path = _normalized(method, path)
        rule = HoldRule(method, path, count)
        if count > 0:
            self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> bool:
        """Whether this request's answer is to be held; spends one of the matching rule's."""
        key = _normalized(method, path)
        for rule in self.rules:
            if (rule.method, rule.path) == key:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return True
        return False

    def hold(self, method: str, path: str, status: int) -> HeldAnswer:
        method, path = _normalized(method, path)
        held = HeldAnswer(next(self._ids), method, path, status)
        self.waiting[held.id] = held
        return held

    def release(self) -> int:
        """Let every waiting answer go; returns how many were waiting."""
        waiting = list(self.waiting.values())
        for held in waiting:
            held.released.set()
        return len(waiting)

    def disarm(self) -> int:
        """Drop the rules not yet spent (answers already held stay held); returns how many."""
        count = len(self.rules)
        self.rules.clear()
        return count

    def clear(self) -> JSON:
        """Disarm every rule and send every withheld answer: ``{"disarmed", "released"}``."""
        return {"disarmed": self.disarm(), "released": self.release()}

    def settle(self, held: HeldAnswer, *, delivered: bool) -> None:
        self.waiting.pop(held.id, None)
        if delivered:
            self.delivered += 1
        else:
            self.abandoned += 1

    def to_json(self) -> JSON:
        return {
            "rules": [rule.to_json() for rule in self.rules],
            "waiting": len(self.waiting),
            "held": [held.to_json() for held in self.waiting.values()],
            "delivered": self.delivered,
            "abandoned": self.abandoned,
        }


class HoldingMiddleware:
    """Serves held requests in full, then keeps their answer until released or abandoned."""

    def __init__(
        self,
        app: ASGIApp,
        holds: ResponseHolds,
        applies_to: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.holds = holds
        # Which paths may be held: the provider's API (and what it names besides, such as
        # Jira's /oauth/token), never the control API.
        self.applies_to = applies_to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.applies_to(scope["path"])
            or not self.holds.take(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 500)
        held = self.holds.hold(scope["method"], scope["path"], status)
        delivered = False
        try:
            if await _released_before_hang_up(held, receive):
                for message in answer:
                    await send(message)
                delivered = True
        finally:
            # Also on cancellation (an in-process client giving up): it never got the answer.
            self.holds.settle(held, delivered=delivered)


async def _released_before_hang_up(held: HeldAnswer, receive: Receive) -> bool:
    """Wait for the release or the client's disconnect, whichever comes first.

    The body was read already, so the server's ``receive`` now only reports the disconnect
    (uvicorn says so when the socket closes, e.g. when the client process is killed).
    """
    released = asyncio.ensure_future(held.released.wait())
    hang_up = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait({released, hang_up}, return_when=asyncio.FIRST_COMPLETED)
        return released.done() and not hang_up.done()
    finally:
        released.cancel()
        hang_up.cancel()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
