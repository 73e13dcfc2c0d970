"""Asana's rate limits, per authorization token (https://developers.asana.com/docs/rate-limits):

- a per-minute quota: 150 requests for a free domain, 1500 for a paid one; "evaluated more
  frequently than once per minute", so ``Retry-After`` says how long until the oldest request
  in the window stops counting (a sliding window here);
- "Requests rejected by this limiter still count against the quotas": ignoring ``Retry-After``
  earns fewer and fewer accepted requests;
- at most 50 reads (GET) and 15 writes (POST, PUT, PATCH, DELETE) in flight at once.

Over any limit: 429 with ``Retry-After`` (seconds) and Asana's error body. The clock is
injected so tests cross a window without sleeping.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field

from tether_emulators.common.limits import Clock

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class LimitConfig:
    per_minute: int = 150
    max_concurrent_reads: int = 50
    max_concurrent_writes: int = 15
    window_seconds: float = 60.0


@dataclass
class RateLimiter:
    config: LimitConfig
    clock: Clock
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _in_flight: dict[tuple[str, bool], int] = field(default_factory=lambda: defaultdict(int))

    def reset(self) -> None:
        self._seen.clear()
        self._in_flight.clear()

    def admit(self, token: str, method: str) -> int | None:
        """Count the request; None if it may proceed (call ``release`` when it ends), else the
        ``Retry-After`` seconds of its 429."""
        now = self.clock()
        seen = self._seen[token]
        window = self.config.window_seconds
        while seen and now - seen[0] >= window:
            seen.popleft()
        over_quota = len(seen) >= self.config.per_minute
        # Refused or not, the request counts against the quota.
        seen.append(now)
        if over_quota:
            return max(1, math.ceil(seen[0] + window - now))
        is_read = method.upper() in READ_METHODS
        cap = self.config.max_concurrent_reads if is_read else self.config.max_concurrent_writes
        if self._in_flight[(token, is_read)] >= cap:
            # Asana does not say how long a concurrency refusal should wait; a second is the
            # smallest Retry-After it can express.
            return 1
        self._in_flight[(token, is_read)] += 1
        return None

    def release(self, token: str, method: str) -> None:
        key = (token, method.upper() in READ_METHODS)
        self._in_flight[key] = max(0, self._in_flight[key] - 1)

    def remaining(self, token: str) -> int:
        now = self.clock()
        recent = [t for t in self._seen[token] if now - t < self.config.window_seconds]
        return max(0, self.config.per_minute - len(recent))
