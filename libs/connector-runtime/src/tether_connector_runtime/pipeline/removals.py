"""Deletions, both ways, each through the burst brake first.

- The provider item went away (deleted): core is told to unlink and flag the task (an archived
  item only pauses its link: pauses.py).
- The task was deleted in core: the item is archived (recoverable), never deleted.

A held deletion waits for a person (:func:`confirm_deletions`). Our own archive must not come
back as a person's: the link leaves ``active`` (``archiving``) before the call, and only active
links are observed.
"""

from __future__ import annotations

from tether_common.db import transaction
from tether_connector_runtime.deletions import Direction
from tether_connector_runtime.pipeline import announce
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.store.repository import StoredLink
from tether_sync import ArchiveProviderCopy, on_provider_deleted

# Links with an item that is ours to write, archive or unlink (a paused one's is archived by
# a person, and its task may still be deleted or its item deleted).
LIVE = ("active", "archiving", "paused")


async def unlink(p: Pipeline, link: StoredLink, *, out_of_reach: bool = False) -> None:
    """The item is gone on the provider's side, deleted or out of the account's reach
    (caller holds the link's turn)."""
    assert link.state is not None
    if await p.brake.admit(link.connection_id, on_provider_deleted(link.state)):
        await unlink_now(p, link.link_id, out_of_reach=out_of_reach)


async def unlink_now(p: Pipeline, link_id: str, *, out_of_reach: bool = False) -> None:
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.state is None or link.status not in LIVE:
            return
        await announce.provider_deleted(
            p, session, link, gone="out_of_reach" if out_of_reach else "deleted"
        )
        await p.repo.set_link_status(session, link_id, "unlinked")
        await p.repo.unpark(session, link_id)
    p.outbox.committed()


async def archive(p: Pipeline, link_id: str, decision: ArchiveProviderCopy) -> None:
    """The task was deleted: archive its item once the brake admits it (caller holds the
    turn). A provider failure propagates (the caller parks the deletion for a retry)."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id)
    if link is None or link.status not in LIVE:
        return
    if await p.brake.admit(link.connection_id, decision):
        await archive_now(p, link)


async def archive_now(p: Pipeline, link: StoredLink) -> None:
    assert link.external_id is not None
    async with transaction(p.sessions) as session:
        await p.repo.set_link_status(session, link.link_id, "archiving")
    async with transaction(p.sessions) as session:
        _, provider = await p.connections.opened(session, link.connection_id)
    await provider.archive(link.external_id)
    async with transaction(p.sessions) as session:
        await p.repo.set_link_status(session, link.link_id, "archived")
        await p.repo.unpark(session, link.link_id)
        await announce.link_changed(p, session, link, "archived")
    p.outbox.committed()


async def confirm_deletions(p: Pipeline, connection_id: str) -> tuple[int, int]:
    """A person confirmed the held deletions of a connection: carry out each, or withdraw it
    if its item came back meanwhile. Returns (propagated, withdrawn)."""
    async with transaction(p.sessions) as session:
        held = await p.brake.approve(session, connection_id)
    propagated = withdrawn = 0
    for hold in held:
        async with p.turns.turn(hold.link_id):
            async with transaction(p.sessions) as session:
                link = await p.repo.link(session, hold.link_id)
                item = None
                if link is not None and link.external_id is not None:
                    _, provider = await p.connections.opened(session, link.connection_id)
                    item = await provider.read(link.external_id)
            if link is not None and link.status in LIVE:
                if hold.direction is Direction.PROVIDER:
                    if item is not None and not item.closed:
                        async with transaction(p.sessions) as session:
                            await p.brake.withdraw(session, hold)
                        withdrawn += 1
                        continue
                    await unlink_now(p, link.link_id)
                elif item is not None:
                    await archive_now(p, link)
            async with transaction(p.sessions) as session:
                await p.brake.done(session, hold)
            propagated += 1
    return propagated, withdrawn
