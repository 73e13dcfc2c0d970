"""A write under way, settled against what the item holds.

A write is recorded on its link (the intent) before the provider is called, and the new base
saved after; a crash in between, or another replica looking, finds the intent still there.
Each field the item holds at the written value is then our write, not a person's edit: it
joins the base (:func:`settled_base`). What the item holds beyond that base is a person's.

Where the provider's notices date each edit (``port.UnreadWrites``: Trello's actions), a
person's edit is published only with a time a notice gives it: the item's last activity may
be our own write's, made after core's latest edit, and dating a person's earlier edit by it
would let that edit win its conflict under ``latest_wins``. So a read made to settle a write
publishes nothing (:func:`settle`), an observation publishes only the fields its notice dates
(``observations.py``), and the rest waits for its own notice (a webhook, or the container's
history); if a write of ours lands on it meanwhile, the write's overwrite window
(``tether_sync.overwrites``), which then starts no later than the edit, finds it from that
notice. Only a look that no notice may follow (``ItemNotice.history_lost``: reconciliation
without a usable history) dates what it finds by the last activity.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.pipeline import refusals
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.renderings import recognised
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import ProviderItem
from tether_connector_runtime.store.repository import StoredLink, WriteIntent
from tether_sync import FIELD_NAMES, LinkState, TaskFields, is_echo


def observed_fields(
    p: Pipeline, link: StoredLink, connection: Any, item: ProviderItem
) -> TaskFields:
    """The item's fields as mapped, the provider's spelling of what we wrote taken for what we
    wrote (renderings.py)."""
    assert link.state is not None
    observed = StatusMapping.stored(connection.list_mapping).fields_of(item)
    written = () if link.intent is None else (link.intent.fields,)
    owner = p.connections.owner_of(connection, link.due_zone)
    return recognised(p.adapter, owner, observed, *written, link.state.synced_fields)


async def settled(
    p: Pipeline, session: AsyncSession, link: StoredLink, observed: TaskFields
) -> LinkState:
    """The link's base with its write under way settled against ``observed`` (the item's
    fields: :func:`observed_fields`), in the caller's transaction. Not saved: the caller saves
    it, with what it publishes. A refusal no longer stands once the whole write is on the
    item (a person put there what the provider refused us, or it took a write after all:
    refusals.py)."""
    assert link.state is not None
    base = settled_base(link.state, link.intent, observed)
    if link.intent is not None and base.synced_fields == link.intent.fields:
        await refusals.clear(p, session, link)
    return base


async def settle(
    p: Pipeline, session: AsyncSession, link: StoredLink, connection: Any, item: ProviderItem
) -> bool:
    """Settle the link's write under way against ``item`` and save the base, publishing
    nothing (for a provider whose notices date each edit: see the module). True when the item
    holds more than that base: a person's edits, left to their notices."""
    observed = observed_fields(p, link, connection, item)
    base = await settled(p, session, link, observed)
    if link.intent is not None:
        await p.repo.save_state(session, base)
    return not is_echo(base, observed)


def settled_base(state: LinkState, intent: WriteIntent | None, observed: TaskFields) -> LinkState:
    """The link's base once a write under way is accounted for: each field the item holds at
    the written value (and the base did not) is our write and joins the base. When the whole
    write is there, the item reflects the written state's clock as well."""
    if intent is None:
        return state
    landed = {
        name: intent.fields.value(name)
        for name in FIELD_NAMES
        if observed.value(name) == intent.fields.value(name)
        and state.synced_fields.value(name) != intent.fields.value(name)
    }
    fields = state.synced_fields.with_values(landed)
    clock = state.synced_clock
    if fields == intent.fields:
        clock = clock.merge(intent.clock)
    return state.model_copy(update={"synced_fields": fields, "synced_clock": clock})
