"""Helpers for tests that drive the Jira emulator in-process.

``JiraHookRecorder`` stands in for a webhook receiver: pass it as ``webhook_transport``. It
records every delivery with its headers and answers with statuses the test chooses (200 once
they run out). ``basic_auth`` builds the ``Authorization`` header of an email and API token;
``oauth_tokens`` runs a whole 3LO grant through the control shortcut. ``ManualClock`` is every
emulator's (common/testing.py).
"""

from __future__ import annotations

import base64
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from tether_emulators.common.testing import ManualClock

__all__ = ["JiraHookRecorder", "ManualClock", "RecordedDelivery", "basic_auth", "oauth_tokens"]


@dataclass(frozen=True)
class RecordedDelivery:
    url: str
    body: bytes
    headers: dict[str, str]  # lower-cased names

    def json(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


class JiraHookRecorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.statuses: deque[int | Exception] = deque()  # for the next deliveries
        self.deliveries: list[RecordedDelivery] = []

    def answer_next(self, *outcomes: int | Exception) -> None:
        """The answers to the next deliveries: a status, or an exception to raise (a timeout)."""
        self.statuses.extend(outcomes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.deliveries.append(RecordedDelivery(str(request.url), await request.aread(), headers))
        outcome = self.statuses.popleft() if self.statuses else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome)


def basic_auth(email: str, api_token: str) -> dict[str, str]:
    """``Authorization: Basic base64(email:api_token)``."""
    encoded = base64.b64encode(f"{email}:{api_token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def oauth_tokens(
    root: httpx.AsyncClient,
    *,
    account_id: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scope: str = "read:jira-work write:jira-work manage:jira-webhook offline_access",
) -> dict[str, Any]:
    """The token answer of a whole code grant: consent through the control shortcut (``root``
    is a client on the emulator's root URL), then ``POST /oauth/token``."""
    consent = await root.post(
        "/_emulator/oauth/authorize",
        json={"client_id": client_id, "redirect_uri": redirect_uri, "account_id": account_id,
              "scope": scope},
    )  # fmt: skip
    consent.raise_for_status()
    answer = await root.post(
        "/oauth/token",
        json={"grant_type": "authorization_code", "client_id": client_id,
              "client_secret": client_secret, "code": consent.json()["code"],
              "redirect_uri": redirect_uri},
    )  # fmt: skip
    answer.raise_for_status()
    tokens: dict[str, Any] = answer.json()
    return tokens
