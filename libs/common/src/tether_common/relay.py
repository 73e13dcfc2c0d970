"""What every transactional outbox relay shares: the doorbell a writer rings after its commit,
the loop that publishes while it holds the relay's lock, and finishing a published row's
bookkeeping even when the relay is being stopped.

Task-core and each connector keep their own outbox table and publish step; this is the rest.
One relay per outbox publishes at a time (with several replicas on PostgreSQL, the holder of an
advisory lock; see :mod:`tether_common.leadership`), which keeps each key's events in commit
order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_common.leadership import Leadership

log = structlog.get_logger(__name__)

T = TypeVar("T")


class CommitSignal:
    """The doorbell between writers and the relay in one process: a writer calls
    :meth:`committed` after a transaction that added outbox rows commits, so they leave at
    once rather than at the next poll."""

    def __init__(self) -> None:
        self._committed = asyncio.Event()

    def committed(self) -> None:
        self._committed.set()

    async def wait(self, timeout: float) -> None:
        """Return when a commit was announced since the last call, or after ``timeout``
        seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._committed.wait()
        except TimeoutError:
            pass
        # Cleared before the relay reads the outbox, so a commit announced during that read
        # makes the next wait return at once rather than being missed.
        self._committed.clear()


async def run_relay(
    engine: AsyncEngine,
    lock_name: str,
    publish_pending: Callable[[], Awaitable[int]],
    signal: CommitSignal,
    *,
    interval: float = 1.0,
    max_backoff: float = 30.0,
    on_failure: Callable[[], None] | None = None,
) -> None:
    """Publish until cancelled: at once after a commit is announced, else every ``interval``
    seconds, while this process holds ``lock_name``.

    A failure (bus or database unavailable) is logged as ``outbox_relay_failed`` with the
    lock name, counted through ``on_failure``, gives the lock up and is retried after
    ``interval * 2**failures`` seconds (at most ``max_backoff``); writers keep committing
    meanwhile and the outbox just grows.
    """
    leadership = Leadership(engine, lock_name)
    failures = 0
    try:
        while True:
            try:
                if await leadership.acquire():
                    await publish_pending()
                failures = 0
                await signal.wait(interval)
            except Exception:
                failures += 1
                if on_failure is not None:
                    on_failure()
                delay = min(max_backoff, interval * 2 ** min(failures, 16))
                log.exception(
                    "outbox_relay_failed", relay=lock_name, attempt=failures, retry_in=delay
                )
                await leadership.release()
                await asyncio.sleep(delay)
    finally:
        await leadership.release()


async def finish_despite_stop(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile (then re-raise the
    cancellation). For marking a row published once the bus has its event: a shutdown that cut
    the mark off would only cause a needless duplicate after the restart, or a transaction cut
    off on a connection being disposed."""
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await running
        raise
