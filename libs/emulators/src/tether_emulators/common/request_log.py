"""The log of API calls an emulator received, which tests read to count exactly the calls
their client made (the control API and webhook deliveries are never in it)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

MAX_LOGGED_REQUESTS = 10_000


class RequestLog(deque[dict[str, Any]]):
    """The last ``MAX_LOGGED_REQUESTS`` calls, oldest first, each ``{seq, method, path, status,
    at}``; ``at`` is the provider's own timestamp text, from ``now``.

    ``seq`` counts on across ``clear()``, so a ``since`` taken before a clear stays meaningful.
    """

    def __init__(self, now: Callable[[], str]) -> None:
        super().__init__(maxlen=MAX_LOGGED_REQUESTS)
        self._now = now
        self._sequence = 0

    def record(self, method: str, path: str, status: int) -> None:
        """Log one answered call (``path`` as the gate normalized it)."""
        self._sequence += 1
        entry = {"seq": self._sequence, "method": method, "path": path, "status": status}
        self.append({**entry, "at": self._now()})

    def since(self, seq: int) -> list[dict[str, Any]]:
        """The calls logged after the one numbered ``seq`` (0: all of them)."""
        return [entry for entry in self if entry["seq"] > seq]
