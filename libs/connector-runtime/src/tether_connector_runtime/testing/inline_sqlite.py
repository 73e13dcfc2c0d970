"""SQLite through aiosqlite's own connection class, each statement run on the event loop's
thread instead of aiosqlite's worker thread.

Same database, same SQL, same driver code above the connection: only the hop to a thread per
statement is gone, which is most of what a statement costs in a simulation that runs hundreds of
thousands of them (the loop waking on the worker's answer, the GIL passed back and forth). Each
statement still yields to the event loop once before it runs, so other tasks interleave at
every statement as they would while a thread worked, but in an order fixed by the loop, not by
the operating system's scheduler.

For tests only: a statement blocks the loop while SQLite works (nothing else runs meanwhile).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An :class:`aiosqlite.Connection` that never starts its worker thread."""

    def __await__(self) -> Any:
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        await asyncio.sleep(0)  # where a thread's answer would be awaited
        return fn(*args, **kwargs)

    def stop(self) -> asyncio.Future[Any] | None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        return None


def inline_creator(path: str) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine` over the
    SQLite file at ``path`` (the URL's own connect arguments are not applied by SQLAlchemy when
    a creator is given: the 30 s busy timeout is set here)."""

    async def create() -> InlineConnection:
        connection = InlineConnection(partial(sqlite3.connect, path, timeout=30), 64)
        return await connection  # type: ignore[no-any-return]

    return create
