"""Per-key coalescing: changes waiting for one link collapse into one provider write.

While a link's write is in flight, further changes for it wait in ONE slot, combined by
``merge`` (default: the newer replaces the older, right for full-state snapshots); when the
write ends the slot's content is written next. So a burst of N edits costs at most two writes
per link, the last state is always written, and a link's writes never overlap or reorder.
Different links proceed in parallel, at most ``max_concurrency`` at once (the provider's
in-flight limits and our connection pool are finite).

:meth:`CoalescingQueue.submit` returns a future that resolves once a write containing the item
finished (or fails with its error). A bus handler that awaits it keeps at-least-once delivery
(its offset is committed after the write), but coalesces only with concurrent submitters; one
that does not await coalesces whole bursts and relies on clocks and reconciliation instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def latest(older: T, newer: T) -> T:
    return newer


def _observe(future: asyncio.Future[None]) -> None:
    # Mark the error as retrieved: callers may not await, and the worker already logged it.
    if not future.cancelled():
        future.exception()


class CoalescingQueue(Generic[K, T]):
    def __init__(
        self,
        process: Callable[[K, T], Awaitable[None]],
        *,
        merge: Callable[[T, T], T] = latest,
        max_concurrency: int = 8,
    ) -> None:
        self._process = process
        self._merge = merge
        self._slots = asyncio.Semaphore(max_concurrency)
        self._pending: dict[K, tuple[T, list[asyncio.Future[None]]]] = {}
        self._workers: dict[K, asyncio.Task[None]] = {}
        self._closed = False

    def submit(self, key: K, item: T) -> asyncio.Future[None]:
        if self._closed:
            raise RuntimeError("the queue is draining; no new work is accepted")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_observe)
        if key in self._pending:
            older, futures = self._pending[key]
            self._pending[key] = (self._merge(older, item), [*futures, future])
        else:
            self._pending[key] = (item, [future])
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"coalesce:{key}")
        return future

    def pending(self, key: K) -> T | None:
        """The merged item waiting for ``key`` (not yet being written), if any."""
        entry = self._pending.get(key)
        return entry[0] if entry else None

    async def _work(self, key: K) -> None:
        try:
            while key in self._pending:
                async with self._slots:
                    # Taken only once a slot is free, so items keep merging while we wait.
                    item, futures = self._pending.pop(key)
                    try:
                        await self._process(key, item)
                    except asyncio.CancelledError:
                        for future in futures:
                            future.cancel()
                        raise
                    except Exception as exc:
                        log.exception("coalesced_write_failed", key=str(key))
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    else:
                        for future in futures:
                            if not future.done():
                                future.set_result(None)
        finally:
            del self._workers[key]

    async def drain(self) -> None:
        """Shutdown: refuse new work and wait until everything submitted is written."""
        self._closed = True
        while self._workers:
            await asyncio.gather(*self._workers.values())

    async def cancel(self) -> None:
        """Shutdown without waiting: abandon pending items (their futures are cancelled)."""
        self._closed = True
        for _, futures in self._pending.values():
            for future in futures:
                future.cancel()
        self._pending.clear()
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
