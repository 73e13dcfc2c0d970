"""What the emulator saw: its request log, read as it grows (the log keeps the last 10,000
calls, so a long run must be read while it runs), and the calls that carry a benchmark's
marks.

Each entry is ``{seq, method, path, status, received, answered, excerpt}``
(``tether_emulators.common.request_log``): ``received`` is this machine's wall clock (epoch
seconds) when the call came in; ``excerpt`` the start of a write's query and body, where the
value written, and so the benchmark's mark, can be found.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

MARK = re.compile(r"bench-r(\d+)-i(\d+)")
_ID = re.compile(r"/[0-9a-f]{24}\b")  # Trello's ids


def mark(run: int, index: int) -> str:
    """The title a change sets: found again in the provider write that carries it."""
    return f"bench-r{run}-i{index}"


def marked(entry: dict[str, Any], run: int) -> int | None:
    """The change index a write carries for ``run``, or None."""
    found = MARK.search(entry.get("excerpt", ""))
    if found is None or int(found.group(1)) != run:
        return None
    return int(found.group(2))


def kind(entry: dict[str, Any]) -> str:
    """``METHOD /path`` with ids made ``{id}``: what sort of call it was."""
    return f"{entry['method']} {_ID.sub('/{id}', str(entry['path']))}"


def kinds(entries: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(kind(e) for e in entries).most_common())


@dataclass
class RequestLog:
    """The emulator's request log, read every ``interval`` seconds into ``entries``."""

    emulator: httpx.AsyncClient
    interval: float = 0.25

    def __post_init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def last_seq(self) -> int:
        return int(self.entries[-1]["seq"]) if self.entries else 0

    async def read(self) -> int:
        """Read what is new now; how many entries were new."""
        answer = await self.emulator.get("/_emulator/requests", params={"since": self.last_seq})
        answer.raise_for_status()
        new = list(answer.json())
        self.entries.extend(new)
        return len(new)

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["seq"] > seq]

    async def _follow(self) -> None:
        while True:
            await self.read()
            await asyncio.sleep(self.interval)

    def follow(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self.read()

    async def quiet(self, *, for_seconds: float = 1.0, within: float = 60.0) -> bool:
        """Return once no call has come in for ``for_seconds`` (the echo of a write, its
        webhook's handling, are done), reading the log as it goes; False when calls still
        came in after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        still_since = loop.time()
        while loop.time() < deadline:
            await self.emulator.post("/_emulator/webhooks/flush")
            if await self.read():
                still_since = loop.time()
            elif loop.time() - still_since >= for_seconds:
                return True
            await asyncio.sleep(0.1)
        return False
