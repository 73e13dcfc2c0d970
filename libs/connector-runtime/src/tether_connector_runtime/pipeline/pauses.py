"""Links that wait for a person: their item archived in the provider, and back.

A person archiving an item (Trello's "Archive", closed=true) may undo it, so the link is not
ended: it says ``paused`` (core flags the task for review) and its item is still watched. While
paused nothing is written to the item; restoring it resumes the link (``active`` with the
clock the item reflects, so core re-sends a newer task state). Exporting the task again to the
same connection restores the item and syncs into it (:func:`restore`), rather than making a
second item (restores.py).
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.pipeline import announce
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.store.repository import StoredLink

log = structlog.get_logger(__name__)


async def pause(p: Pipeline, session: AsyncSession, link: StoredLink) -> None:
    """The link's item was archived by a person (in the caller's transaction)."""
    await p.repo.set_link_status(session, link.link_id, "paused")
    await p.repo.unpark(session, link.link_id)  # nothing is written while paused
    name = p.provider.capitalize()
    await announce.link_changed(
        p,
        session,
        link,
        "paused",
        reason="item_archived",
        error=f"its {name} item was archived in {name}; restore it there (or export the task "
        "again) to resume syncing",
    )
    log.info("link_paused", link_id=link.link_id, reason="item_archived")


async def resume(p: Pipeline, session: AsyncSession, link: StoredLink) -> None:
    """The paused link's item is back (in the caller's transaction): core re-sends the task
    if the item reflects an older state than the task's."""
    assert link.state is not None
    await p.repo.set_link_status(session, link.link_id, "active")
    await announce.link_changed(p, session, link, "active", synced_clock=link.state.synced_clock)
    log.info("link_resumed", link_id=link.link_id)
