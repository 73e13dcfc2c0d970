"""Provider -> core: read an item, and publish what it holds beyond the link's base.

Webhook payloads can be stale, duplicated or out of order, so they only say which item to look
at; reconciliation observes the same way. The change and the link's new base are written in
one transaction (the change through the outbox), so a crash loses neither nor sends a change
twice against two bases.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce, removals
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import ItemNotice, ProviderItem
from tether_connector_runtime.store.repository import StoredLink
from tether_sync import FieldName, after_publish, decide_inbound


async def observe(p: Pipeline, notice: ItemNotice) -> None:
    async with transaction(p.sessions) as session:
        found = await p.repo.link_by_external_id(session, notice.external_id)
    if found is None:
        return  # not ours, or no longer linked
    async with p.turns.turn(found.link_id):
        gone = await _observe_in_turn(p, found.link_id, notice)
        if gone is not None:
            await removals.unlink(p, gone)


async def _observe_in_turn(p: Pipeline, link_id: str, notice: ItemNotice) -> StoredLink | None:
    """Publish the item's news; returns the link when the item is gone (to unlink)."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.state is None or link.status != "active":
            return None
        row, provider = await p.connections.opened(session, link.connection_id)
        item = await provider.read(notice.external_id)
        if item is None or item.closed:
            return link
        await publish_news(p, session, link, row, item, notice.field_edited_at)
    p.outbox.committed()
    return None


async def publish_news(
    p: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    field_edited_at: Mapping[FieldName, datetime],
) -> bool:
    """Publish the item's values that differ from the link's base and make them the base, in
    the caller's transaction; False when there is nothing new (our own echo, a no-op)."""
    assert link.state is not None
    observed = StatusMapping.stored(connection.list_mapping).fields_of(item)
    change = decide_inbound(
        link.state,
        observed,
        edited_at=item.edited_at or p.now(),
        field_edited_at=field_edited_at,
    )
    if change is None:
        return False
    await announce.provider_changed(p, session, link, change)
    await p.repo.save_state(session, after_publish(link.state, change))
    return True
