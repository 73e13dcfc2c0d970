"""Planning a write of a task state to a link's item, in the link's turn, in one transaction.

The engine decides against the link's base (skip what the item already reflects; archive for
a deleted task; else the fields that differ). Before a write the item is read: a person's
edit not yet published is published instead (the write would silently overwrite it; core
answers with a merged state, written then), an item found archived pauses its link
(pauses.py), and an earlier write's intent is settled against what the item holds
(settling.py). Where the provider's notices date each edit (port.UnreadWrites) a person's
edit is left to its notice instead, and the write's overwrite window reaches back to find it. The
write's own intent is then committed before the provider is called (writes.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_connector_runtime.pipeline import (
    bursts,
    limits,
    parking,
    pauses,
    refusals,
    removals,
    settling,
    tasks,
)
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.observations import publish_news
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import ProviderItem, ProviderSession, UnreadWrites
from tether_connector_runtime.store.repository import StoredLink, WriteIntent
from tether_events import TaskChanged
from tether_sync import (
    ArchiveProviderCopy,
    LinkState,
    OutboundDecision,
    Skip,
    TaskSnapshot,
    WritePlan,
    after_write,
    decide_outbound,
)
from tether_sync.overwrites import Overwrites, before_write


@dataclass(frozen=True)
class Planned:
    provider: ProviderSession
    external_id: str
    item: ProviderItem | None  # None: written unread (port.UnreadWrites)
    decision: WritePlan
    move_to: str | None
    due_zone: str | None  # the IANA zone a due is written in, if the write sets the due


async def plan(
    p: Pipeline, link_id: str, task: TaskChanged, *, arrived: bool = False
) -> Planned | ArchiveProviderCopy | StoredLink | None:
    """What to write, with its intent committed; or what to do instead. ``arrived``: the
    state just came from core (see :func:`_waits`)."""
    told = _Told()
    try:
        async with transaction(p.sessions) as session:
            link = await p.repo.link(session, link_id, for_update=True)
            if link is None or (arrived and await _waits(p, session, link, task)):
                return None
            return await _plan_in(p, session, link, tasks.snapshot_of(task), told)
    finally:
        if told.anything:
            p.outbox.committed()  # after the commit: the news leaves at once


@dataclass
class _Told:
    """Whether planning announced anything (a person's edit, a pause, a refusal cleared)."""

    anything: bool = False


async def _waits(p: Pipeline, session: AsyncSession, link: StoredLink, task: TaskChanged) -> bool:
    """Whether a state that just arrived for ``link`` is not written now: a pending link's
    export takes the task's newest state when it completes (core re-sends a state newer than
    the one the item was created from); a link whose work is parked keeps the newer state for
    its next attempt (parking.py); a restoring link's work waits for the item's restore
    (restores.py); a change within the link's burst window is held for its end (bursts.py)."""
    if link.status not in (*removals.LIVE, "restoring"):
        return True
    if link.parked is not None:
        await parking.keep_newer(p, session, link, task)
        return True
    if link.status == "restoring":
        return True
    return await bursts.hold(p, session, link, task)


async def _plan_in(
    p: Pipeline, session: AsyncSession, link: StoredLink, snapshot: TaskSnapshot, told: _Told
) -> Planned | ArchiveProviderCopy | StoredLink | None:
    link_id = link.link_id
    if link.state is None or link.external_id is None:
        return None
    if link.status not in removals.LIVE:
        return None
    decision = _decide(p, link.state, snapshot)
    if isinstance(decision, Skip):
        return None
    if isinstance(decision, ArchiveProviderCopy):
        return decision  # a pending edit does not save a deleted task: no read
    if link.status == "paused":
        return None  # its item is archived; core re-sends the task on resume
    if decision.is_empty and link.intent is None:
        told.anything = await _nothing_to_write(p, session, link, decision)
        return None
    # With an intent pending, even a task that asks nothing beyond the base has the item read:
    # part of that write may be on it (a write refused after the provider took some of it,
    # or one whose answer was lost), and only settling it says what the item must be given.
    row, provider = await p.connections.opened(
        session, link.connection_id, written_in=link.due_zone
    )
    zone = p.connections.owner_of(row).zone.key if "due" in decision.changes else None
    if _writes_unread(provider, link, row, decision):
        await p.repo.record_intent(
            session,
            link_id,
            WriteIntent(decision.target, decision.clock),
            _overwrites(link, decision, link.seen_at),
        )
        return Planned(provider, link.external_id, None, decision, None, zone)
    item = await provider.read(link.external_id)
    if item is None:
        return link
    if item.closed:
        await pauses.pause(p, session, link)
        told.anything = True
        return None
    unheard = False
    if isinstance(provider, UnreadWrites):
        # Its notices date a person's edit; the item's last activity may be our own write's
        # (settling.py). The write below may land on the edit: its window finds it.
        unheard = await settling.settle(p, session, link, row, item)
    elif await publish_news(p, session, link, row, item, {}):
        told.anything = True
        return None  # a person's edit goes first; core answers with a merged state
    # Settling an intent against the item may have cleared the link's refusal (settling.py).
    told.anything = link.refusal is not None
    if link.intent is not None:
        settled = await _settled_decision(p, session, link_id, snapshot, told)
        if settled is None:
            return None
        link, decision = settled
    # A base that lacks edits the item holds does not reflect it up to its last activity.
    seen_at = link.seen_at if unheard else _latest(link.seen_at, item.edited_at)
    await p.repo.record_intent(
        session,
        link_id,
        WriteIntent(decision.target, decision.clock),
        _overwrites(link, decision, seen_at),
        seen_at,
    )
    move_to = _move_for(row, item, decision)
    return Planned(provider, item.external_id, item, decision, move_to, zone)


def _writes_unread(
    provider: ProviderSession, link: StoredLink, row: Any, decision: WritePlan
) -> bool:
    """Whether the write goes out without a read of the item first (port.UnreadWrites): the
    provider's notices will tell of an edit it overwrites; the link is active with no write
    unsettled or refused (settling needs the item); and no place is to be chosen for a
    change of ``completed`` (that needs the item's place)."""
    if not isinstance(provider, UnreadWrites):
        return False
    if link.status != "active" or link.intent is not None or link.refusal is not None:
        return False
    return "completed" not in decision.changes or not StatusMapping.stored(row.list_mapping).places


def _overwrites(link: StoredLink, decision: WritePlan, seen_at: datetime | None) -> Overwrites:
    assert link.state is not None
    return before_write(link.overwrites, link.state.synced_fields, decision.changes, seen_at)


def _latest(known: datetime | None, read: datetime | None) -> datetime | None:
    """The provider time up to which a base reflects the item: a read's last activity."""
    if known is None or read is None:
        return read or known
    return max(known, read)


def _decide(p: Pipeline, state: LinkState, snapshot: TaskSnapshot) -> OutboundDecision:
    # Diffed as the item can hold it: a shortened value is the base (limits.py).
    return decide_outbound(state, limits.fitted(snapshot, p.adapter.field_limits, state))


async def _settled_decision(
    p: Pipeline, session: AsyncSession, link_id: str, snapshot: TaskSnapshot, told: _Told
) -> tuple[StoredLink, WritePlan] | None:
    """An earlier write's intent was settled against the item: the link settled and the write
    decided from there (None: nothing to write)."""
    settled = await p.repo.link(session, link_id)
    assert settled is not None
    assert settled.state is not None
    again = _decide(p, settled.state, snapshot)
    if not isinstance(again, WritePlan):
        return None
    if again.is_empty:
        told.anything = await _nothing_to_write(p, session, settled, again) or told.anything
        return None
    return settled, again


async def _nothing_to_write(
    p: Pipeline, session: AsyncSession, link: StoredLink, decision: WritePlan
) -> bool:
    """The task asks nothing of the item beyond its base: the base takes the task's clock,
    and a refusal no longer stands (what was refused is asked for no more). True when core
    was told so."""
    assert link.state is not None
    await p.repo.save_state(session, after_write(link.state, decision))
    return await refusals.clear(p, session, link)


def _move_for(row: Any, item: ProviderItem, decision: WritePlan) -> str | None:
    """The place a change of ``completed`` moves the item to (status mapping), if any."""
    if "completed" not in decision.changes:
        return None
    mapping = StatusMapping.stored(row.list_mapping)
    completed = bool(decision.changes["completed"])
    return mapping.placement(item.place_id, item.container_id, completed)
