"""The log of API calls an emulator received, which tests read to count exactly the calls
their client made (the control API and webhook deliveries are never in it)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_LOGGED_REQUESTS = 10_000
# Enough of a write's query and body to find a value in it (benchmarks mark what they write).
EXCERPT_CHARS = 400


class RequestLog(deque[dict[str, Any]]):
    """The last ``MAX_LOGGED_REQUESTS`` calls, oldest first, each ``{seq, method, path, status,
    at, received, answered, excerpt}``: ``at`` is the provider's own timestamp text, from
    ``now`` (tests may move that clock); ``received`` and ``answered`` are this machine's wall
    clock in seconds since the epoch (``time.time()``), when the call came in and when its
    answer started, so a benchmark on the same machine can time a change's arrival; ``excerpt``
    is the start of a write's query string and body (``""`` for a GET).

    ``seq`` counts on across ``clear()``, so a ``since`` taken before a clear stays meaningful.
    """

    def __init__(self, now: Callable[[], str]) -> None:
        super().__init__(maxlen=MAX_LOGGED_REQUESTS)
        self._now = now
        self._sequence = 0

    def record(
        self,
        method: str,
        path: str,
        status: int,
        *,
        received: float | None = None,
        excerpt: str = "",
    ) -> None:
        """Log one answered call (``path`` as the gate normalized it)."""
        self._sequence += 1
        answered = time.time()
        entry = {"seq": self._sequence, "method": method, "path": path, "status": status}
        times = {"received": answered if received is None else received, "answered": answered}
        self.append({**entry, "at": self._now(), **times, "excerpt": excerpt[:EXCERPT_CHARS]})

    def since(self, seq: int) -> list[dict[str, Any]]:
        """The calls logged after the one numbered ``seq`` (0: all of them)."""
        return [entry for entry in self if entry["seq"] > seq]
