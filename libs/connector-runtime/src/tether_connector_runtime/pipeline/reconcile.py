"""Repairing missed webhooks: ask each container holding linked items what changed since our
cursor, and observe those items exactly as a webhook would have made us do.

A repaired change is indistinguishable from a delivered one, and a change a webhook did
deliver is an echo the second time. One container failing (an outage, a revoked token, an
answer we cannot read) is logged and skipped: the others are reconciled all the same, and its
cursor stays for the next pass. A container without its webhook gets one (a failed
registration is retried here).

How far a container's history has been read is kept per connection (history.py): two
connections linking items on one board each read it from their own cursor, since each
observes only its own links (one connection's pass must not move the other's cursor past
changes it has not seen).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import health, observations, place_moves, watching
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.history import cursor_key
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.retry import AuthRevokedError, ProviderError

log = structlog.get_logger(__name__)


async def reconcile_once(p: Pipeline) -> int:
    """One pass over every container with linked items; returns how many items were observed."""
    async with transaction(p.sessions) as session:
        # Paused links too: a restored item is noticed here when no webhook said so.
        links = await p.repo.watched_links(session)
        broken = await p.repo.broken_connection_ids(session)
    containers: dict[tuple[str, str], set[str]] = {}
    for link in links:
        # A broken connection is asked nothing until it is repaired (pipeline/health.py).
        if link.external_id and link.connection_id not in broken:
            key = (link.connection_id, link.container_id)
            containers.setdefault(key, set()).add(link.external_id)
    observed = 0
    for (connection_id, container_id), linked in sorted(containers.items()):
        try:
            observed += await _reconcile(p, connection_id, container_id, linked)
        except AuthRevokedError as exc:
            # The grant is gone (the connection breaks, once, and its links say so), or only
            # this container is out of the account's reach (its items' reads will say).
            if not await health.grant_refused(p, connection_id, str(exc)):
                log.warning("reconcile_container_refused", container_id=container_id)
        except ProviderError as exc:
            log.warning("reconcile_container_failed", container_id=container_id, error=str(exc))
        except Exception:
            # Not the provider's word (an answer we could not read, a bug): still this
            # container's alone, or one bad board would stop every board's repair for good.
            log.exception("reconcile_container_crashed", container_id=container_id)
    return observed


async def _reconcile(p: Pipeline, connection_id: str, container_id: str, linked: set[str]) -> int:
    await watching.ensure_webhook(p, connection_id, container_id)
    key = cursor_key(connection_id, container_id)
    async with transaction(p.sessions) as session:
        cursor = await p.repo.cursor(session, key)
        _, provider = await p.connections.opened(session, connection_id)
    changes = await provider.changes_since(container_id, cursor)
    if cursor is None or not changes.complete:
        # No history to go by: look at every linked item once.
        notices = [ItemNotice(external_id, history_lost=True) for external_id in sorted(linked)]
    else:
        notices = [n for n in changes.notices if n.external_id in linked]
    for move in changes.places_moved:
        await place_moves.place_moved(p, move, linked)
    for notice in notices:
        await observations.observe(p, notice)
    if changes.cursor is not None:
        async with transaction(p.sessions) as session:
            await p.repo.save_cursor(session, key, changes.cursor)
    return len(notices)


async def reconcile_forever(
    p: Pipeline, interval: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    while True:
        await sleep(interval)
        try:
            count = await reconcile_once(p)
            if count:
                log.info("reconciled", provider=p.provider, items=count)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconcile_failed")
