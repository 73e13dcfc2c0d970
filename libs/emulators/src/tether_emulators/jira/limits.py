"""Jira Cloud's rate limits as the emulator applies them
(https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ and /work/shared/PROVIDERS.md):

- burst limits per endpoint and HTTP method: 100 requests a second for GET and POST, 50 for
  PUT and DELETE (``RateLimit-Reason: jira-burst-based``);
- per-issue writes: 20 writes to one issue per 2 seconds and 100 per 30 seconds
  (``jira-per-issue-on-write``).

A refusal is a 429 with ``Retry-After`` (seconds), ``X-RateLimit-Limit``,
``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (``yyyy-MM-ddTHH:mmZ``, the request's time plus
``Retry-After``) and ``RateLimit-Reason``. The points-based hourly quota of OAuth apps is not
modelled. Windows slide on the injected clock, so tests cross them without sleeping.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from tether_emulators.common.limits import Clock

BURST_REASON = "jira-burst-based"
ISSUE_WRITE_REASON = "jira-per-issue-on-write"
_ID_SEGMENT = re.compile(r"/[^/]*\d[^/]*")


@dataclass
class LimitConfig:
    burst_get_post: int = 100
    burst_put_delete: int = 50
    burst_window_seconds: float = 1.0
    issue_writes: int = 20
    issue_window_seconds: float = 2.0
    issue_writes_long: int = 100
    issue_long_window_seconds: float = 30.0


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: its ``RateLimit-Reason``, the limit and the wait."""

    reason: str
    limit: int
    retry_after: int


@dataclass
class RateLimiter:
    config: LimitConfig
    clock: Clock
    _seen: dict[tuple[str, ...], deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def reset(self) -> None:
        self._seen.clear()

    def admit(self, method: str, path: str, written_issue: str | None) -> Refusal | None:
        """Count the request; None if it may proceed, else why not. ``written_issue`` is the id
        of the issue a write changes (None for reads and other writes)."""
        config, method = self.config, method.upper()
        burst = config.burst_put_delete if method in ("PUT", "DELETE") else config.burst_get_post
        endpoint = _ID_SEGMENT.sub("/*", path)
        checks: list[tuple[tuple[str, ...], int, float, str]] = [
            (("burst", method, endpoint), burst, config.burst_window_seconds, BURST_REASON)
        ]
        if written_issue is not None:
            checks += [
                (("issue", written_issue), config.issue_writes, config.issue_window_seconds,
                 ISSUE_WRITE_REASON),
                (("issue-long", written_issue), config.issue_writes_long,
                 config.issue_long_window_seconds, ISSUE_WRITE_REASON),
            ]  # fmt: skip
        now = self.clock()
        for key, limit, window, reason in checks:
            seen = self._window(key, window, now)
            if len(seen) >= limit:
                return Refusal(reason, limit, max(1, math.ceil(seen[0] + window - now)))
        for key, *_ in checks:
            self._seen[key].append(now)
        return None

    def _window(self, key: tuple[str, ...], window: float, now: float) -> deque[float]:
        seen = self._seen[key]
        while seen and now - seen[0] >= window:
            seen.popleft()
        return seen
