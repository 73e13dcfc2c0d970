"""Helpers for tests that drive the emulator in-process.

``HookRecorder`` stands in for a webhook receiver: pass it as ``webhook_transport``. It answers
the handshake by echoing ``X-Hook-Secret`` (or not, if told) and records every POST, answering
with statuses the test chooses. Tests that want Tether's real receiver pass
``httpx.ASGITransport(app=receiver_app)`` instead. ``ManualClock`` is every emulator's
(common/testing.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from tether_emulators.common.testing import ManualClock

__all__ = ["HookRecorder", "ManualClock", "RecordedPost", "oauth_tokens", "pkce_pair"]


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


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def oauth_tokens(
    root: httpx.AsyncClient,
    *,
    user_gid: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
) -> dict[str, Any]:
    """The token answer of a whole code grant with PKCE: consent through the control
    shortcut (``root`` is a client on the emulator's root URL), then ``/-/oauth_token``."""
    verifier, challenge = pkce_pair()
    consent = await root.post(
        "/_emulator/oauth/authorize",
        json={
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "user": user_gid,
            "code_challenge": challenge,
        },
    )
    consent.raise_for_status()
    answer = await root.post(
        "/-/oauth_token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "code": consent.json()["code"],
            "code_verifier": verifier,
        },
    )
    answer.raise_for_status()
    tokens: dict[str, Any] = answer.json()
    return tokens
