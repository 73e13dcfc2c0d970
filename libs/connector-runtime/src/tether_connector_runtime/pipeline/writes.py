"""Core -> provider: a task's new state reaches each of its links' items.

Per link, in its turn: the engine decides (skip what the item already reflects; archive for a
deleted task; else the fields that differ from the base). Before writing, the item is read: a
person's edit not yet published is published first (the write would silently overwrite it),
and core answers with a merged state that is written then; an item found archived pauses its
link (pauses.py). A deletion needs no read: a pending
edit does not save a deleted task. A provider failure parks the link's work (parking.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tether_common.db import transaction
from tether_connector_runtime.pipeline import limits, parking, pauses, removals, tasks
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.observations import publish_news
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import ProviderItem, ProviderSession
from tether_connector_runtime.retry import AuthRevokedError, RetryableProviderError
from tether_connector_runtime.store.repository import StoredLink, WriteIntent
from tether_events import TaskChanged
from tether_sync import (
    ArchiveProviderCopy,
    Skip,
    TaskSnapshot,
    WritePlan,
    after_write,
    decide_outbound,
)

# Failures that pass: the work waits on its link and is tried again.
PASSING = (RetryableProviderError, AuthRevokedError)


async def on_task_changed(p: Pipeline, task: TaskChanged) -> None:
    async with transaction(p.sessions) as session:
        links = await p.repo.links_of_task(session, task.task_id)
    for link in links:
        async with p.turns.turn(link.link_id):
            await _offer(p, link.link_id, task)


async def _offer(p: Pipeline, link_id: str, task: TaskChanged) -> None:
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.status not in (*removals.LIVE, "restoring"):
            # A pending link's export takes the task's newest state when it completes (core
            # re-sends a state newer than the one the item was created from).
            return
        if link.parked is not None:
            await parking.keep_newer(p, session, link, task)
            return
        if link.status == "restoring":
            return  # its work is parked until the item is restored (restores.py)
    await attempt_write(p, link_id, task)


async def attempt_write(p: Pipeline, link_id: str, task: TaskChanged) -> bool:
    """Apply ``task`` to the link's item (caller holds the turn); False when it was parked."""
    try:
        outcome = await _write(p, link_id, tasks.snapshot_of(task))
        if isinstance(outcome, ArchiveProviderCopy):
            await removals.archive(p, link_id, outcome)
        elif isinstance(outcome, StoredLink):
            await removals.unlink(p, outcome)
    except PASSING as exc:
        await parking.park(p, link_id, task, exc)
        return False
    return True


async def _write(
    p: Pipeline, link_id: str, snapshot: TaskSnapshot
) -> ArchiveProviderCopy | StoredLink | None:
    """Decide and write; returns an archive to carry out, or the link if its item is gone.

    The write is recorded on the link (its intent) and committed before the provider is
    called, and the new base after: killed in between, the next look at the item takes what
    it holds of the write for our echo, not for a person's edit (observations.settled_base).
    """
    plan = await _plan(p, link_id, snapshot)
    if not isinstance(plan, _Planned):
        return plan
    await plan.provider.update(plan.item, plan.decision.changes, link_id, plan.move_to)
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is not None and link.state is not None:
            state = after_write(link.state, plan.decision)
            await p.repo.save_state(session, state, due_zone=plan.due_zone)
    return None


@dataclass(frozen=True)
class _Planned:
    provider: ProviderSession
    item: ProviderItem
    decision: WritePlan
    move_to: str | None
    due_zone: str | None  # the IANA zone a due is written in, if the write sets the due


async def _plan(
    p: Pipeline, link_id: str, snapshot: TaskSnapshot
) -> _Planned | ArchiveProviderCopy | StoredLink | None:
    """What to write, with its intent committed; or what to do instead."""
    published = False
    try:
        async with transaction(p.sessions) as session:
            link = await p.repo.link(session, link_id, for_update=True)
            if link is None or link.state is None or link.external_id is None:
                return None
            if link.status not in removals.LIVE:
                return None
            # Diffed as the item can hold it: a shortened value is the base (limits.py).
            fit = limits.fitted(snapshot, p.adapter.field_limits, link.state)
            decision = decide_outbound(link.state, fit)
            if isinstance(decision, Skip):
                return None
            if isinstance(decision, ArchiveProviderCopy):
                return decision  # a pending edit does not save a deleted task: no read
            if link.status == "paused":
                return None  # its item is archived; core re-sends the task on resume
            if decision.is_empty:
                await p.repo.save_state(session, after_write(link.state, decision))
                return None
            row, provider = await p.connections.opened(
                session, link.connection_id, written_in=link.due_zone
            )
            item = await provider.read(link.external_id)
            if item is None:
                return link
            if item.closed:
                await pauses.pause(p, session, link)
                published = True  # the pause's news leaves at once
                return None
            published = await publish_news(p, session, link, row, item, {})
            if published:
                return None  # a person's edit goes first; core answers with a merged state
            if link.intent is not None:
                # An earlier write's intent was settled against the item: work from there.
                settled = await p.repo.link(session, link_id)
                assert settled is not None
                assert settled.state is not None
                fit = limits.fitted(snapshot, p.adapter.field_limits, settled.state)
                again = decide_outbound(settled.state, fit)
                if not isinstance(again, WritePlan):
                    return None
                if again.is_empty:
                    await p.repo.save_state(session, after_write(settled.state, again))
                    return None
                decision = again
            move_to = None
            if "completed" in decision.changes:
                mapping = StatusMapping.stored(row.list_mapping)
                completed = bool(decision.changes["completed"])
                move_to = mapping.placement(item.place_id, item.container_id, completed)
            await p.repo.record_intent(
                session, link_id, WriteIntent(decision.target, decision.clock)
            )
        zone = p.connections.owner_of(row).zone.key if "due" in decision.changes else None
        return _Planned(provider, item, decision, move_to, zone)
    finally:
        if published:
            p.outbox.committed()  # after the commit: the change leaves at once
