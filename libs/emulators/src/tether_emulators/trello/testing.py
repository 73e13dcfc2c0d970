"""Helpers for tests that drive the emulator in-process.

``CallbackRecorder`` stands in for a webhook receiver: pass it as ``webhook_transport`` and it
records the HEAD checks and deliveries, answering with statuses the test chooses. Tests that
want Tether's real receiver instead pass ``httpx.ASGITransport(app=receiver_app)``.
``ManualClock`` (common/testing.py) moves the emulator's clocks only when told.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from tether_emulators.common.testing import ManualClock

__all__ = ["CallbackRecorder", "ManualClock", "RecordedDelivery"]


@dataclass(frozen=True)
class RecordedDelivery:
    url: str
    body: bytes
    signature: str | None

    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


class CallbackRecorder(httpx.AsyncBaseTransport):
    def __init__(self, *, head_status: int = 200) -> None:
        self.head_status = head_status
        # Statuses for the next POSTs, in order; 200 once they run out.
        self.post_statuses: deque[int] = deque()
        self.heads: list[str] = []
        self.posts: list[RecordedDelivery] = []

    def answer_next(self, *statuses: int) -> None:
        self.post_statuses.extend(statuses)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            self.heads.append(str(request.url))
            return httpx.Response(self.head_status)
        body = await request.aread()
        self.posts.append(
            RecordedDelivery(str(request.url), body, request.headers.get("x-trello-webhook"))
        )
        status = self.post_statuses.popleft() if self.post_statuses else 200
        return httpx.Response(status)
