"""Helpers for tests that drive the emulator in-process.

``CallbackRecorder`` stands in for a webhook receiver: pass it as ``webhook_transport`` and it
records the HEAD checks and deliveries, answering with statuses the test chooses. Tests that
want Tether's real receiver instead pass ``httpx.ASGITransport(app=receiver_app)``.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


class ManualClock:
    """Time that moves only when told: ``clock`` for rate-limit windows, ``now`` for dates.

    Pass ``clock=c, wall_clock=c.now`` to ``create_trello_emulator``.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.elapsed = 0.0

    def __call__(self) -> float:
        return self.elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


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
