"""Exporting a task again to the connection its paused or unlinked link is on: the item is
restored (unarchived) and synced into, never duplicated.

Core reuses the link (its id is the item's marker); the connector marks it ``restoring`` and
parks the task's state for the retrier, which calls :func:`restore` and then writes the state
the usual way (planning.py: a person's edits on the item since its base are published first,
or, where the provider's notices date each edit, found from those notices).
"""

from __future__ import annotations

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, parking
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import AuthRevokedError, RetryableProviderError
from tether_events import TaskChanged

log = structlog.get_logger(__name__)


async def restore(p: Pipeline, link_id: str, task: TaskChanged) -> bool:
    """Bring back a ``restoring`` link's item (the task was exported again; caller holds the
    turn); True when the link is active again and ``task`` is to be written into its item.

    The item gone for good means a new one: the link restarts as an export (an item an
    earlier attempt made is found by its marker). A provider failure that passes parks the
    work on the link and the retrier comes back to it.
    """
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.status != "restoring" or link.external_id is None:
            return False
        _, provider = await p.connections.opened(session, link.connection_id)
    try:
        item = await provider.read(link.external_id)
        if item is not None and item.closed:
            await provider.restore(link.external_id)
    except (RetryableProviderError, AuthRevokedError) as exc:
        await parking.park(p, link_id, task, exc)
        return False
    if item is None:
        async with transaction(p.sessions) as session:
            await p.repo.restart_export(session, link_id, dict(link.target or {}))
        await exports.attempt_export(p, link_id, task, recovering=True)
        return False
    async with transaction(p.sessions) as session:
        await p.repo.set_link_status(session, link_id, "active")
    log.info("link_restored", link_id=link_id, external_id=link.external_id)
    return True
