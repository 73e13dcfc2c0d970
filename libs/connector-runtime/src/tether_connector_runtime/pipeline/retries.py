"""The retrier: takes parked links whose next attempt is due, one turn each, oldest due first.

A link that succeeds is unparked and says ``active`` again; one that fails again is parked
again with a longer wait (parking.py); one the provider refuses for good is unparked by the
refusal, which says ``active`` with the provider's words (refusals.py). Runs in every
replica; the link's row lock and the turn keep two from retrying one link at once.
"""

from __future__ import annotations

import asyncio

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import (
    announce,
    exports,
    propagation,
    restores,
    tasks,
    writes,
)
from tether_connector_runtime.pipeline.context import Pipeline

log = structlog.get_logger(__name__)
BATCH = 50


async def retry_due(p: Pipeline) -> int:
    """One pass; returns how many links were tried."""
    async with transaction(p.sessions) as session:
        due = await p.repo.due_links(session, p.now(), BATCH)
    for link_id in due:
        async with p.turns.turn(link_id):
            await _retry(p, link_id)
    return len(due)


async def _retry(p: Pipeline, link_id: str) -> None:
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id)
    parked = link.parked if link is not None else None
    if link is None or parked is None or parked.next_attempt_at is None:
        return
    if parked.next_attempt_at > p.now():
        return  # another pass (or replica) retried it meanwhile
    task = tasks.from_json(parked.task)
    held = parked.retry_until is None
    if link.status == "pending":
        await exports.attempt_export(p, link_id, task, recovering=True)
        return
    if link.status == "restoring" and not await restores.restore(p, link_id, task):
        return  # parked again, or exported afresh
    if link.status not in ("active", "archiving", "restoring"):
        async with transaction(p.sessions) as session:
            await p.repo.unpark(session, link_id)
        return
    with propagation.applying(task):
        wrote = await writes.attempt_write(p, link_id, task)
    if wrote:
        async with transaction(p.sessions) as session:
            now = await p.repo.link(session, link_id, for_update=True)
            if now is None or now.parked is None:
                return  # unparked by the attempt: refused for good, paused, unlinked
            await p.repo.unpark(session, link_id)
            if held:
                return  # a burst's held write: nothing was announced for it (bursts.py)
            if now.status == "active" and now.state is not None:
                await announce.link_changed(
                    p, session, now, "active", synced_clock=now.state.synced_clock
                )
        p.outbox.committed()
        log.info("link_recovered", link_id=link_id, attempts=parked.attempts)


async def retry_forever(p: Pipeline, interval: float) -> None:
    while True:
        try:
            await retry_due(p)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Our own database failing must not end the loop; the links stay parked.
            log.exception("retry_pass_failed")
        # Every ``interval`` seconds, and when a burst's held write falls due.
        await p.bursts.wait(interval, p.now())
