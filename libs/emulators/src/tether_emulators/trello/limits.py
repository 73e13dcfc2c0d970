"""Trello's rate limits: per token, per API key, and the stricter one on ``/1/members/``.

Documented limits: 100 requests per 10 s per token, 300 per 10 s per key, 100 per 900 s on
``/1/members/``; over a limit Trello answers 429 with a JSON ``error`` naming the limit and no
``Retry-After``, and once a key has drawn more than 200 429s it gets 429 for the rest of the
window. The ``x-rate-limit-*`` headers are what Trello is reported to send (PROVIDERS.md marks
them unconfirmed). The clock is injected so tests can cross a window without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tether_emulators.common.limits import Clock

TOKEN_LIMIT_EXCEEDED = "API_TOKEN_LIMIT_EXCEEDED"
KEY_LIMIT_EXCEEDED = "API_KEY_LIMIT_EXCEEDED"
# Reported wording of the /1/members/ limit; Trello's docs give the limit but not the body.
MEMBERS_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"


@dataclass
class LimitConfig:
    token_limit: int = 100
    key_limit: int = 300
    window_seconds: float = 10.0
    members_limit: int = 100
    members_window_seconds: float = 900.0
    # More 429s than this on one key within a window blocks the key until the window ends.
    key_block_after_429s: int = 200


@dataclass
class _Window:
    started: float
    count: int = 0
    rejected: int = 0


@dataclass
class Verdict:
    """The outcome for one request: headers always, an error body when refused."""

    headers: dict[str, str]
    error: str | None = None
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.error is None


@dataclass
class RateLimiter:
    config: LimitConfig
    clock: Clock
    _keys: dict[str, _Window] = field(default_factory=dict)
    _tokens: dict[str, _Window] = field(default_factory=dict)
    _members: dict[str, _Window] = field(default_factory=dict)

    def reset(self) -> None:
        self._keys.clear()
        self._tokens.clear()
        self._members.clear()

    def check(self, key: str, token: str, path: str) -> Verdict:
        """Count the request if every limit allows it; otherwise say which limit refused it.

        Refused requests do not use up budget, but they do count towards the key's 429 block.
        """
        now = self.clock()
        cfg = self.config
        key_window = self._window(self._keys, key, now, cfg.window_seconds)
        token_window = self._window(self._tokens, token, now, cfg.window_seconds)
        members_window = (
            self._window(self._members, token, now, cfg.members_window_seconds)
            if path.startswith("/1/members/") or path == "/1/members"
            else None
        )
        error, message = None, ""
        if key_window.rejected > cfg.key_block_after_429s or key_window.count >= cfg.key_limit:
            error, message = KEY_LIMIT_EXCEEDED, "Rate limit exceeded"
        elif token_window.count >= cfg.token_limit:
            error, message = TOKEN_LIMIT_EXCEEDED, "Rate limit exceeded"
        elif members_window is not None and members_window.count >= cfg.members_limit:
            error, message = MEMBERS_LIMIT_EXCEEDED, "Exceeded rate limit to /1/members"
        if error is None:
            key_window.count += 1
            token_window.count += 1
            if members_window is not None:
                members_window.count += 1
        else:
            key_window.rejected += 1
        headers = {
            "x-rate-limit-api-key-interval-ms": str(int(cfg.window_seconds * 1000)),
            "x-rate-limit-api-key-max": str(cfg.key_limit),
            "x-rate-limit-api-key-remaining": str(max(0, cfg.key_limit - key_window.count)),
            "x-rate-limit-api-token-interval-ms": str(int(cfg.window_seconds * 1000)),
            "x-rate-limit-api-token-max": str(cfg.token_limit),
            "x-rate-limit-api-token-remaining": str(max(0, cfg.token_limit - token_window.count)),
        }
        if members_window is not None:
            headers["x-rate-limit-member-interval-ms"] = str(int(cfg.members_window_seconds * 1000))
            headers["x-rate-limit-member-max"] = str(cfg.members_limit)
            headers["x-rate-limit-member-remaining"] = str(
                max(0, cfg.members_limit - members_window.count)
            )
        return Verdict(headers=headers, error=error, message=message)

    @staticmethod
    def _window(windows: dict[str, _Window], name: str, now: float, length: float) -> _Window:
        # Fixed windows opened by the first request: simple, and what the 429-block rule
        # ("for the remainder of the 10s window") implies.
        window = windows.get(name)
        if window is None or now - window.started >= length:
            window = windows[name] = _Window(started=now)
        return window
