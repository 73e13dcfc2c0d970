"""Parking a link's work when the provider fails for a while, so nothing else waits for it.

A write or an export that fails for a reason that passes (5xx, 429, a timeout, credentials the
provider refuses until a person reconnects) is recorded on its link: the newest task state
still to apply, the attempts so far, when to try next (backoff doubling to a cap, never sooner
than the provider asked), and until when to keep trying. The event that carried it is then
acknowledged, so the partition moves on; other links and tenants never wait. Later states for
a parked link replace its parked state (a state is whole: the newest stands for all), so the
link's order is kept. The retrier (retries.py) takes due links in turn. While parked the link
says ``retrying`` with its last error and next attempt.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce, health, removals, tasks
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import AuthRevokedError, RetryableProviderError
from tether_connector_runtime.store.repository import StoredLink
from tether_events import TaskChanged

log = structlog.get_logger(__name__)

PARKED = Counter(
    "tether_connector_link_retries_total",
    "Provider calls that failed for now and left their link's work parked for a retry",
    ["provider", "outcome"],  # outcome: parked | gave_up
)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


async def park(p: Pipeline, link_id: str, task: TaskChanged, exc: BaseException) -> None:
    """Park ``task`` on the link after ``exc`` (caller holds the link's turn). A 401 first asks
    whether the credentials themselves are refused (the connection breaks and pauses its
    links: the parked work waits for a reconnect) or only this item or target is out of reach
    (no parking: the item is unlinked, an export fails)."""
    paused = False
    if isinstance(exc, AuthRevokedError):
        async with transaction(p.sessions) as session:
            found = await p.repo.link(session, link_id)
        if found is None:
            return
        if not await health.grant_refused(p, found.connection_id, str(exc)):
            await _out_of_reach(p, link_id, describe(exc))
            return
        # The connection's pause speaks for an active link (health.py): no "retrying" after it.
        paused = found.status == "active"
    await _park(p, link_id, task, exc, announce_retry=not paused)


async def _park(
    p: Pipeline, link_id: str, task: TaskChanged, exc: BaseException, *, announce_retry: bool
) -> None:
    now = p.now()
    error = describe(exc)
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None:
            return
        before = link.parked
        attempts = (before.attempts if before else 0) + 1
        until = (
            before.retry_until
            if before and before.retry_until
            else now + timedelta(seconds=p.retry.limit)
        )
        keep = tasks.newer(tasks.from_json(before.task), task) if before else task
        if now >= until:
            await give_up(p, session, link, f"gave up after {attempts} attempts: {error}")
        else:
            asked = exc.retry_after if isinstance(exc, RetryableProviderError) else None
            next_at = now + timedelta(seconds=p.retry.delay(attempts, asked))
            await p.repo.park(
                session,
                link_id,
                task=tasks.to_json(keep),
                attempts=attempts,
                next_attempt_at=next_at,
                retry_until=until,
                error=error,
            )
            if announce_retry:
                await announce.link_changed(
                    p, session, link, "retrying", error=error, next_attempt_at=next_at
                )
            PARKED.labels(p.provider, "parked").inc()
            log.warning("link_parked", link_id=link_id, attempts=attempts, retry_at=next_at)
    p.outbox.committed()


async def _out_of_reach(p: Pipeline, link_id: str, error: str) -> None:
    """A 401 for the item or container alone (the credentials work): retrying cannot help.
    An item is gone from the link (unlinked, the task flagged); an export fails visibly."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is not None and link.state is None:
            await give_up(p, session, link, f"the account cannot reach the target: {error}")
    p.outbox.committed()
    if link is not None and link.state is not None:
        await removals.unlink(p, link, out_of_reach=True)


async def keep_newer(
    p: Pipeline, session: AsyncSession, link: StoredLink, task: TaskChanged
) -> None:
    """A state arrived for a parked link: it waits with the parked work (replacing it if
    newer) and goes at the link's next attempt."""
    assert link.parked is not None
    assert link.parked.next_attempt_at is not None
    kept = tasks.from_json(link.parked.task)
    if tasks.newer(kept, task) is kept:
        return
    await p.repo.park(
        session,
        link.link_id,
        task=tasks.to_json(task),
        attempts=link.parked.attempts,
        next_attempt_at=link.parked.next_attempt_at,
        retry_until=link.parked.retry_until,  # None: a burst's held write (bursts.py)
        error=link.parked.last_error,
    )


async def give_up(p: Pipeline, session: AsyncSession, link: StoredLink, error: str) -> None:
    """The time limit passed: the link fails, visibly, with the last error."""
    await p.repo.unpark(session, link.link_id)
    await p.repo.set_link_status(session, link.link_id, "failed")
    await announce.link_changed(p, session, link, "failed", error=error)
    PARKED.labels(p.provider, "gave_up").inc()
    log.error("link_gave_up", link_id=link.link_id, error=error)
