"""Provider -> core: read an item, and publish what it holds beyond the link's base.

Webhook payloads can be stale, duplicated or out of order, so they only say which item to look
at; reconciliation observes the same way. The change and the link's new base are written in
one transaction (the change through the outbox), so a crash loses neither nor sends a change
twice against two bases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import (
    announce,
    health,
    history,
    pauses,
    removals,
    settling,
    watching,
)
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.settling import observed_fields
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import ItemNotice, ProviderItem, UnreadWrites
from tether_connector_runtime.retry import AuthRevokedError
from tether_connector_runtime.store.repository import WATCHED, StoredLink
from tether_sync import FieldName, FieldValue, after_publish, changed_fields, decide_inbound
from tether_sync.overwrites import after_overwritten, decide_overwritten, overwritten

log = structlog.get_logger(__name__)

ECHOES_UNREAD = Counter(
    "tether_connector_echoes_unread_total",
    "Notices that only repeated a link's base (our own write coming back), so the item was "
    "not read",
    ["provider"],
)


OVERWRITES_RECOVERED = Counter(
    "tether_connector_overwrites_recovered_total",
    "Person's edits an unread write overwrote before their notice came, published from that "
    "notice as edits concurrent with ours (core's policy decides)",
    ["provider"],
)


@dataclass(frozen=True)
class Gone:
    """A link whose item went away: deleted, or out of the account's reach."""

    link: StoredLink
    out_of_reach: bool = False


async def observe(p: Pipeline, notice: ItemNotice) -> None:
    async with transaction(p.sessions) as session:
        found = await p.repo.link_by_external_id(session, notice.external_id)
    if found is None:
        return  # not ours, or no longer linked
    async with p.turns.turn(found.link_id):
        gone = await _observe_in_turn(p, found.link_id, notice)
        if gone is not None:
            await removals.unlink(p, gone.link, out_of_reach=gone.out_of_reach)


async def _observe_in_turn(p: Pipeline, link_id: str, notice: ItemNotice) -> Gone | None:
    """Publish the item's news; returns the link when the item is gone (to unlink). An
    archived item pauses its link, a restored one resumes it (pauses.py); an item moved to
    another container is followed there (its webhook registered)."""
    try:
        looked = await _look(p, link_id, notice)
    except AuthRevokedError as exc:
        return await _refused(p, link_id, exc)
    if looked is None:
        return None  # nothing was read, so nothing waits in the outbox
    gone, moved_to = looked
    p.outbox.committed()
    if moved_to is not None:
        await history.start(p, *moved_to)
        await watching.ensure_webhook(p, *moved_to)
    return gone


async def _look(
    p: Pipeline, link_id: str, notice: ItemNotice
) -> tuple[Gone | None, tuple[str, str] | None] | None:
    """The item read and its news published, in one transaction; what went away, and the
    (connection, container) to watch when the item moved. None: the item was not read (no
    link to look for, or the notice only repeats the base)."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.state is None or link.status not in WATCHED:
            return None
        # Read in the zones the item's due may be in (a due we wrote before the owner moved).
        row, provider = await p.connections.opened(
            session, link.connection_id, written_in=link.due_zone
        )
        zones = p.connections.owner_of(row, link.due_zone).reading_zones
        stated = notice.read_in(zones)
        found = overwritten(link.overwrites, stated.edits())
        if not found and repeats_the_base(stated, link):
            ECHOES_UNREAD.labels(p.provider).inc()
            return None
        item = await provider.read(notice.external_id)
        if item is None:
            return Gone(link), None
        if not item.container_id:
            # In no container the account can watch (an Asana task taken out of every
            # project): no webhook or reconciliation would hear of it again, so it leaves the
            # link, flagged for review, rather than stay linked and silently stranded.
            return Gone(link, out_of_reach=True), None
        moved_to = None
        if item.container_id and item.container_id != link.container_id:
            await p.repo.move_link(session, link_id, item.container_id)
            moved_to = (link.connection_id, item.container_id)
            log.info("item_moved", link_id=link_id, container_id=item.container_id)
        # Where the provider's notices date each edit, only their times date a person's edit
        # (settling.py): one this notice does not date is left to its own.
        dated_only = isinstance(provider, UnreadWrites) and not stated.history_lost
        times = stated.times_still_true(StatusMapping.stored(row.list_mapping).fields_of(item))
        if item.closed:
            if link.status == "active":
                await pauses.pause(p, session, link)
        else:
            await _take_in(p, session, link, row, item, times, found, dated_only=dated_only)
        left = dated_only and _undated(p, link, row, item, times)
        if isinstance(provider, UnreadWrites) and not left and _later(item.edited_at, link.seen_at):
            # Where the window of what a later unread write may overwrite starts: not past an
            # edit left to its notice, which the window must still find.
            await p.repo.record_overwrites(session, link_id, seen_at=item.edited_at)
    return None, moved_to


async def _take_in(
    p: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    times: Mapping[FieldName, datetime],
    found: Mapping[FieldName, tuple[FieldValue, datetime]],
    *,
    dated_only: bool,
) -> None:
    """An open item's news published (a paused link resumed first; ``times``: the notice's
    times of the values the item still holds; ``dated_only``: publish no other field), then
    the person's edits ``found`` that our unread writes overwrote."""
    if link.status == "paused":
        await pauses.resume(p, session, link)
    await publish_news(p, session, link, connection, item, times, dated_only=dated_only)
    if found:
        await recover_overwritten(p, session, link.link_id, connection, item, found)


def _undated(
    p: Pipeline,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    times: Mapping[FieldName, datetime],
) -> bool:
    """Whether ``item`` holds, beyond the link's base (its write under way settled), a field
    ``times`` does not date: an edit left to its own notice."""
    assert link.state is not None
    observed = observed_fields(p, link, connection, item)
    base = settling.settled_base(link.state, link.intent, observed)
    return any(name not in times for name in changed_fields(base.synced_fields, observed))


def _later(read: datetime | None, seen: datetime | None) -> bool:
    return read is not None and (seen is None or read > seen)


def repeats_the_base(stated: ItemNotice, link: StoredLink) -> bool:
    """Whether ``stated`` (a notice read in the item's zones: ``ItemNotice.read_in``) only
    repeats the link's base, so reading the item can bring nothing it says: every field it
    says an action set, it names the value set (Trello's actions do), and each is the value
    the base holds (our own write coming back, or an edit to what the field already held),
    with no write of ours unsettled and the link active. News the item holds from another
    action comes with that action's notice (or reconciliation); a notice that names no value
    (a move, an archive, a compact notice) is always read."""
    if link.state is None or link.intent is not None or link.refusal is not None:
        return False
    if link.status != "active" or not stated.field_edited_at:
        return False
    if set(stated.field_edited_at) - set(stated.field_values):
        return False
    base = link.state.synced_fields
    return all(base.value(name) == value for name, value in stated.field_values.items())


async def _refused(p: Pipeline, link_id: str, exc: AuthRevokedError) -> Gone | None:
    """The provider answered 401 for the item: its credentials refused (the connection
    breaks), or the item is where the account cannot see it (moved to a board the member is
    not on): then it is gone from this link."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id)
    if link is None or link.state is None:
        return None
    if await health.grant_refused(p, link.connection_id, str(exc)):
        return None
    return Gone(link, out_of_reach=True)


async def publish_news(
    p: Pipeline,
    session: AsyncSession,
    link: StoredLink,
    connection: Any,
    item: ProviderItem,
    field_edited_at: Mapping[FieldName, datetime],
    *,
    dated_only: bool = False,
) -> bool:
    """Publish the item's values that differ from the link's base and make them the base, in
    the caller's transaction (which rings the outbox after its commit); False when there is
    nothing new (our own echo, a no-op). ``dated_only``: only the fields ``field_edited_at``
    dates (the others left to their own notices: settling.py)."""
    observed = observed_fields(p, link, connection, item)
    base = await settling.settled(p, session, link, observed)
    if dated_only:
        observed = base.synced_fields.with_values(
            {name: observed.value(name) for name in field_edited_at}
        )
    change = decide_inbound(
        base,
        observed,
        edited_at=item.edited_at or p.now(),
        field_edited_at=field_edited_at,
        # Core takes a base that is its value cut to the limit for that value (limits.py).
        field_limits=p.adapter.field_limits,
    )
    if change is None:
        if link.intent is not None:
            await p.repo.save_state(session, base)  # the write landed (or not): settled
        return False
    await announce.provider_changed(p, session, link, change)
    await p.repo.save_state(session, after_publish(base, change))
    return True


async def recover_overwritten(
    p: Pipeline,
    session: AsyncSession,
    link_id: str,
    connection: Any,
    item: ProviderItem,
    found: Mapping[FieldName, tuple[FieldValue, datetime]],
) -> bool:
    """Publish the person's edits a notice names that our unread writes overwrote (``found``,
    from ``tether_sync.overwrites.overwritten``): those whose field the item still holds as we
    wrote it. After the item's news is published, in the caller's transaction; True when
    something was published."""
    link = await p.repo.link(session, link_id)
    if link is None or link.state is None or link.intent is not None:
        return False  # publish_news settled any intent first; defensive
    held = observed_fields(p, link, connection, item)
    kept = {n: e for n, e in found.items() if held.value(n) == link.overwrites[n].wrote}
    if not kept:
        return False
    change = decide_overwritten(
        link.state,
        link.overwrites,
        kept,
        edited_at=max(at for _, at in kept.values()),
        field_limits=p.adapter.field_limits,
    )
    OVERWRITES_RECOVERED.labels(p.provider).inc(len(kept))
    log.warning("overwritten_edit_recovered", link_id=link_id, fields=sorted(kept))
    await announce.provider_changed(p, session, link, change)
    state, windows = after_overwritten(link.state, link.overwrites, change)
    await p.repo.save_state(session, state, overwrites=windows)
    return True
