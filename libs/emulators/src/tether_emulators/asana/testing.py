"""Helpers for tests that drive the emulator in-process.

``HookRecorder`` stands in for a webhook receiver: pass it as ``webhook_transport``. It answers
the handshake by echoing ``X-Hook-Secret`` (or not, if told) and records every POST, answering
with statuses the test chooses. Tests that want Tether's real receiver pass
``httpx.ASGITransport(app=receiver_app)`` instead. ``ManualClock`` is the Trello emulator's.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from tether_emulators.trello.testing import ManualClock

__all__ = ["HookRecorder", "ManualClock", "RecordedPost"]


@dataclass(frozen=True)
class RecordedPost:
    url: str
    body: bytes
    secret: str | None  # X-Hook-Secret: set on the handshake only
    signature: str | None  # X-Hook-Signature: set on deliveries

    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body) if self.body else {}
        return decoded


class HookRecorder(httpx.AsyncBaseTransport):
    def __init__(self, *, echo_secret: bool = True, handshake_status: int = 200) -> None:
        self.echo_secret = echo_secret
        self.handshake_status = handshake_status
        self.post_statuses: deque[int] = deque()  # for the next deliveries; 200 after
        self.handshakes: list[RecordedPost] = []
        self.deliveries: list[RecordedPost] = []

    def answer_next(self, *statuses: int) -> None:
        self.post_statuses.extend(statuses)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        post = RecordedPost(
            str(request.url),
            await request.aread(),
            request.headers.get("x-hook-secret"),
            request.headers.get("x-hook-signature"),
        )
        if post.secret is not None:
            self.handshakes.append(post)
            headers = {"X-Hook-Secret": post.secret} if self.echo_secret else {}
            return httpx.Response(self.handshake_status, headers=headers)
        self.deliveries.append(post)
        return httpx.Response(self.post_statuses.popleft() if self.post_statuses else 200)

    def events(self) -> list[dict[str, Any]]:
        """Every event delivered so far, heartbeats (empty lists) contributing none."""
        return [event for post in self.deliveries for event in post.json()["events"]]
