"""Exports: exactly one provider item per export, even across a crash.

The link is recorded (``pending``) before the provider is asked to create anything. So when
an attempt finds the link already pending, an earlier attempt may have created the item and
died before recording it: only then is the container searched for our marker (the common case
costs no search). The item is created with the marker in the same call, which is what makes it
findable. The provider failing for a while parks the export on its link (parking.py).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.db import transaction
from tether_common.errors import NotFound
from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.pipeline import announce, history, limits, parking, tasks, watching
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.pipeline.observations import publish_news
from tether_connector_runtime.pipeline.renderings import recognised
from tether_connector_runtime.places import StatusMapping
from tether_connector_runtime.port import (
    Placement,
    ProviderAdapter,
    ProviderItem,
    ProviderSession,
)
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.store.repository import StoredLink
from tether_events import ExportRequested, TaskChanged
from tether_sync import LinkState, TaskFields, TaskSnapshot, changed_fields, link_replica

log = structlog.get_logger(__name__)


async def export(p: Pipeline, request: ExportRequested) -> None:
    async with p.turns.turn(request.link_id):
        recovering = await _register(p, request)
        if recovering is not None:
            await attempt_export(p, request.link_id, request.task, recovering=recovering)
    p.outbox.committed()


async def _register(p: Pipeline, request: ExportRequested) -> bool | None:
    """Record the export's link; whether an earlier attempt may have made the item (None:
    nothing to attempt now)."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, request.link_id, for_update=True)
        if link is not None and link.status not in ("pending", *AGAIN):
            if link.status == "active" and link.state is not None:
                # A redelivered request: say it again (core applies it idempotently), with a
                # refused write that stands (refusals.py).
                await announce.link_changed(
                    p,
                    session,
                    link,
                    "active",
                    synced_clock=link.state.synced_clock,
                    error=link.refusal,
                )
            return None
        connection = await p.repo.connection(session, request.connection_id)
        if connection is None or connection.tenant_id != request.tenant_id:
            # Never let a guessed connection id export into another company's account.
            failed = link or _requested_link(request)
            error = f"no {p.provider} connection {request.connection_id} in this tenant"
            await announce.link_changed(p, session, failed, "failed", error=error)
            return None
        if link is not None and link.parked is not None:
            await parking.keep_newer(p, session, link, request.task)
            return None
        if link is not None and link.status in AGAIN:
            return await _export_again(p, session, link, request)
        if link is None:
            await p.repo.add_pending_link(
                session,
                link_id=request.link_id,
                tenant_id=request.tenant_id,
                task_id=request.task_id,
                connection_id=request.connection_id,
                target=dict(request.target),
            )
    return link is not None


# Links a new export of their task reuses (core keeps the link's id: it marks the item).
AGAIN = ("failed", "paused")


async def _export_again(
    p: Pipeline, session: AsyncSession, link: StoredLink, request: ExportRequested
) -> bool | None:
    """The task is exported again after its link failed or paused (its item archived): core
    reuses the link (its id marks any item an attempt made), so the request
    must not be taken for a duplicate, or the link would stay pending in core for good."""
    if link.state is None:
        # No item was recorded: export afresh to the place now asked for, as a recovery (an
        # item an earlier attempt made is found by its marker, not made twice).
        await p.repo.restart_export(session, link.link_id, dict(request.target))
        return True
    # Its item exists (maybe archived) and writes to it stopped: sync into it again rather
    # than adopt it as new (its stale values would then flow back over the task's). The
    # retrier takes it at once, restores the item if it is archived (restores.py), and says
    # active when the task's state is written, retrying if it fails.
    now = p.now()
    await p.repo.set_link_status(
        session, link.link_id, "active" if link.status == "failed" else "restoring"
    )
    await p.repo.park(
        session,
        link.link_id,
        task=tasks.to_json(request.task),
        attempts=0,
        next_attempt_at=now,
        retry_until=now + timedelta(seconds=p.retry.limit),
        error="exported again after its writes were given up",
    )
    return None


async def attempt_export(p: Pipeline, link_id: str, task: TaskChanged, *, recovering: bool) -> bool:
    """One attempt (caller holds the turn); False when it was parked for a retry."""
    try:
        await _create(p, link_id, task, recovering=recovering)
    except (RetryableProviderError, AuthRevokedError) as exc:
        await parking.park(p, link_id, task, exc)
        return False
    except (PermanentProviderError, NotFound) as exc:
        await _fail(p, link_id, str(exc))
    return True


async def _create(p: Pipeline, link_id: str, task: TaskChanged, *, recovering: bool) -> None:
    # Created as the item can hold it, which is then the link's base (limits.py).
    snapshot = limits.fitted(tasks.snapshot_of(task), p.adapter.field_limits)
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None or link.status != "pending":
            return
        row, provider = await p.connections.opened(session, link.connection_id)
    mapping = StatusMapping.stored(row.list_mapping)
    target = link.target or {}
    placement = await _placement(
        p, link.connection_id, target, provider, mapping, snapshot, recovering
    )
    await history.start(p, link.connection_id, placement.container_id, provider)
    item = await provider.find_marked(placement, link_id) if recovering else None
    adopted = item is not None
    if item is None:
        owner = p.connections.owner_of(row)
        try:
            item = await _new_item(
                p.adapter, provider, mapping, placement, snapshot.fields, link_id, owner
            )
        except PermanentProviderError:
            p.placements.forget(link.connection_id, target)  # asked again next time
            raise
    if not p.placements.check(link.connection_id, target, placement, item):
        # The item is elsewhere (a cached answer gone stale, or moved since the crashed
        # attempt made it): its history is read from where it is.
        await history.start(p, link.connection_id, item.container_id, provider)
    # Before the link says active: from then on a person may edit the item, and the webhook
    # must be there to tell us (a failure here leaves it to reconciliation).
    await watching.ensure_webhook(p, link.connection_id, item.container_id)
    replica = link_replica(p.provider, item.external_id)  # type: ignore[arg-type]
    # The base is the state exported; an adopted item may hold a person's edit since, which
    # then flows back as a change.
    state = LinkState(
        link_id=link_id,
        task_id=link.task_id,
        replica=replica,
        synced_clock=snapshot.clock,
        synced_fields=snapshot.fields,
    )
    active = dataclasses.replace(
        link,
        container_id=item.container_id,
        external_id=item.external_id,
        replica=replica,
        url=item.url,
        status="active",
        state=state,
        # Created with its due in the owner's zone: where it reads back as the date we wrote.
        due_zone=p.connections.owner_of(row).zone.key,
    )
    async with transaction(p.sessions) as session:
        await p.repo.save_link(session, active, state)
        await p.repo.unpark(session, link_id)
        await announce.link_changed(p, session, active, "active", synced_clock=snapshot.clock)
        if adopted:
            await publish_news(p, session, active, row, item, {})
    p.outbox.committed()
    log.info("exported", link_id=link_id, external_id=item.external_id, adopted=adopted)


async def _placement(
    p: Pipeline,
    connection_id: str,
    target: dict[str, str],
    provider: ProviderSession,
    mapping: StatusMapping,
    snapshot: TaskSnapshot,
    recovering: bool,
) -> Placement:
    """Where the export goes (placements_cache.py): asked afresh after a crashed attempt,
    whose item is looked for in the answer's container, and when the status mapping sends the
    item to another place of that container (chosen by the answer's container)."""
    placement = await p.placements.resolve(connection_id, target, provider, fresh=recovering)
    mapped = mapping.completed_in(placement.place_id)
    if recovering or mapped is None or mapped == snapshot.fields.completed:
        return placement
    return await p.placements.resolve(connection_id, target, provider, fresh=True)


async def _new_item(
    adapter: ProviderAdapter,
    provider: ProviderSession,
    mapping: StatusMapping,
    placement: Placement,
    fields: TaskFields,
    link_id: str,
    owner: Owner,
) -> ProviderItem:
    # A completed task exported into a place mapped "not done" (or the reverse) goes to a
    # place that says what it is, or it would read back as reopened.
    mapped = mapping.completed_in(placement.place_id)
    if mapped is not None and mapped != fields.completed:
        place = mapping.place_for(placement.container_id, fields.completed)
        placement = dataclasses.replace(placement, place_id=place or placement.place_id)
    item = await provider.create(placement, fields, link_id)
    # The provider's own spelling of a value is that value (renderings.py), not an ignored one.
    differing = changed_fields(recognised(adapter, owner, mapping.fields_of(item), fields), fields)
    if differing:
        # The provider ignored a field on create (PROVIDERS.md: Trello's dueComplete may be):
        # set it now, or the item's own reading would come back as a person's edit.
        changes = {n: fields.value(n) for n in differing}
        move = None
        if "completed" in changes:
            move = mapping.placement(item.place_id, item.container_id, fields.completed)
        written = await provider.update(item, changes, link_id, move)
        if written is None:  # the answer does not show the item: read it
            written = await provider.read(item.external_id)
        item = written or item
    return item


async def _fail(p: Pipeline, link_id: str, error: str) -> None:
    """Retrying cannot help (no such list, no such connection): tell the person."""
    async with transaction(p.sessions) as session:
        link = await p.repo.link(session, link_id, for_update=True)
        if link is None:
            return
        await p.repo.unpark(session, link_id)
        await p.repo.set_link_status(session, link_id, "failed")
        await announce.link_changed(p, session, link, "failed", error=error)
    log.warning("export_failed", link_id=link_id, error=error)


def _requested_link(request: ExportRequested) -> StoredLink:
    return StoredLink(
        request.link_id,
        request.tenant_id,
        request.task_id,
        request.connection_id,
        "",
        None,
        None,
        None,
        "failed",
        None,
    )
