"""Repairing missed webhooks: ask each container holding linked items what changed since our
cursor, and observe those items exactly as a webhook would have made us do.

A repaired change is indistinguishable from a delivered one, and a change a webhook did
deliver is an echo the second time. One container failing (an outage, a revoked token) is
logged and skipped: the others are reconciled all the same, and its cursor stays for the next
pass. A container without its webhook gets one (a failed registration is retried here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, observations
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.retry import ProviderError

log = structlog.get_logger(__name__)


async def reconcile_once(p: Pipeline) -> int:
    """One pass over every container with linked items; returns how many items were observed."""
    async with transaction(p.sessions) as session:
        links = await p.repo.active_links(session)
    containers: dict[tuple[str, str], set[str]] = {}
    for link in links:
        if link.external_id:
            key = (link.connection_id, link.container_id)
            containers.setdefault(key, set()).add(link.external_id)
    observed = 0
    for (connection_id, container_id), linked in sorted(containers.items()):
        try:
            observed += await _reconcile(p, connection_id, container_id, linked)
        except ProviderError as exc:
            log.warning("reconcile_container_failed", container_id=container_id, error=str(exc))
    return observed


async def _reconcile(p: Pipeline, connection_id: str, container_id: str, linked: set[str]) -> int:
    await exports.ensure_webhook(p, connection_id, container_id)
    async with transaction(p.sessions) as session:
        cursor = await p.repo.cursor(session, container_id)
        _, provider = await p.connections.opened(session, connection_id)
    changes = await provider.changes_since(container_id, cursor)
    if cursor is None or not changes.complete:
        # No history to go by: look at every linked item once.
        notices = [ItemNotice(external_id) for external_id in sorted(linked)]
    else:
        notices = [n for n in changes.notices if n.external_id in linked]
    for notice in notices:
        await observations.observe(p, notice)
    if changes.cursor is not None:
        async with transaction(p.sessions) as session:
            await p.repo.save_cursor(session, container_id, changes.cursor)
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
