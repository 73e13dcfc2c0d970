"""The per-link turn: one write or observation of a link at a time, within this process.

A write's own webhook (or a reconciliation poll) can read the item after the provider applied
the write but before the new base was saved; it would then take our write for a person's edit.
So writes and observations of one link take turns: here by an asyncio lock per link, across
replicas by the row lock each takes on the link (PostgreSQL; SQLite, one process in embedded
mode, ignores FOR UPDATE).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0  # the holder and everyone waiting: the lock stays while any remain


class LinkTurns:
    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    @asynccontextmanager
    async def turn(self, link_id: str) -> AsyncIterator[None]:
        """Hold ``link_id``'s turn for the block; waiters go one at a time, in arrival order.

        The entry is dropped only when nobody holds or awaits it. Dropping it as soon as the
        lock is released would let a third caller create a fresh lock and run beside the
        waiter that was just woken (two holders at once).

        Every line logged in the turn is about this link: ``link_id`` is bound to the log
        context for the block.
        """
        entry = self._turns.setdefault(link_id, _Turn())
        entry.holders += 1
        try:
            async with entry.lock:
                with structlog.contextvars.bound_contextvars(link_id=link_id):
                    yield
        finally:
            entry.holders -= 1
            if entry.holders == 0 and self._turns.get(link_id) is entry:
                del self._turns[link_id]

    def holders(self, link_id: str) -> int:
        """How many hold or await ``link_id``'s turn now (0 when none)."""
        entry = self._turns.get(link_id)
        return entry.holders if entry is not None else 0

    def __len__(self) -> int:
        return len(self._turns)
