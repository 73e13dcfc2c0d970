"""The registry of links: exports requested through the API, their fate as connectors report it.

An export registers a pending link and, in the same transaction, queues ``ExportRequested``
(with the task's current state) for the provider's connector; the connector answers with
``LinkChanged`` (active, retrying, failed, unlinked or archived), applied here once per event
via the inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from task_core.events import export_requested, task_envelope, task_state
from task_core.metrics import LINK_EVENTS, LINK_RESENDS
from task_core.models import Link, Task, new_id
from task_core.repository import (
    LinkRepository,
    TaskRepository,
    already_processed,
    mark_processed,
)
from task_core.service import find_task, primary_only
from task_core.writer import TaskWriter
from tether_common.errors import Conflict
from tether_common.read_replica import ReadRouting
from tether_contracts.sync import LinkCreate
from tether_contracts.tasks import TaskReview
from tether_events import CloudEvent, LinkChanged, TaskChanged, VectorClock

log = structlog.get_logger(__name__)

CONSUMER = "task-core.link-events"
UNLINKED_NOTE = "unlinked"  # the history row's changed_fields when a copy went away


class AlreadyExported(Conflict):
    code = "already_exported"


async def unlink(
    writer: TaskWriter,
    session: AsyncSession,
    task: Task,
    link: Link,
    *,
    origin: str,
    out_of_reach: bool = False,
) -> None:
    """Mark ``link`` unlinked, flag the task for review and note both in its history
    (``task`` locked by the caller).

    The task itself stays: a provider-side delete is never propagated as a delete, but a
    person should know a copy went away (was it on purpose?). The note is a version without
    an event: no synced value changed, so no other copy has news.
    """
    now = writer.now()
    link.status = "unlinked"
    links_changed(task)
    link.next_attempt_at = None
    link.updated_at = now
    name = link.provider.capitalize()
    item = f" ({link.external_id})" if link.external_id else ""
    why = (
        f"was moved where this {name} connection's account cannot see it (another board?)"
        if out_of_reach
        else f"was deleted in {name}"
    )
    task.review = TaskReview(
        reason="provider_out_of_reach" if out_of_reach else "provider_deleted",
        message=f"Its {name} copy{item} {why}; the task stays here but is no longer linked to it.",
        provider=link.provider,
        link_id=link.id,
        flagged_at=now,
    ).model_dump(mode="json")
    writer.record(session, task, [UNLINKED_NOTE], origin=origin, at=now, publish=False)
    log.info("link_unlinked", link_id=link.id, task_id=task.id, origin=origin)


def flag_archived(writer: TaskWriter, task: Task, link: Link) -> None:
    """The link's copy was archived in its provider: the link is paused; flag the task (no
    version: no synced value changed)."""
    name = link.provider.capitalize()
    item = f" ({link.external_id})" if link.external_id else ""
    task.review = TaskReview(
        reason="provider_archived",
        message=f"Its {name} copy{item} was archived in {name}; syncing resumes when it is "
        "restored there, or when the task is exported to it again.",
        provider=link.provider,
        link_id=link.id,
        flagged_at=writer.now(),
    ).model_dump(mode="json")
    log.info("link_paused", link_id=link.id, task_id=task.id, reason="item_archived")


def clear_flag_of(task: Task, link: Link) -> None:
    """The link is active again: a flag that its copy went away no longer holds."""
    review = task.review or {}
    if review.get("link_id") == link.id:
        task.review = None


def links_changed(task: Task) -> None:
    """Raise the task's ``links_version``: every TaskChanged built from now on tells the
    connectors that their cached links of this task may be stale. Raised for any export and
    any link news, whether or not it changed what a connector holds: a raise too many costs
    a connector one lookup, one too few a lost write."""
    task.links_version = (task.links_version or 0) + 1


def origin_of(link: Link, replica: str | None) -> str:
    """Who a link's news comes from, for the history: its replica id once known."""
    return replica or link.replica or f"{link.provider}:{link.external_id or link.id}"


class LinkService:
    def __init__(self, writer: TaskWriter, *, topic: str, reads: ReadRouting | None = None) -> None:
        """``topic``: where export requests go (the link-events topic); ``reads``: where reads
        go (see :class:`task_core.service.TaskService`)."""
        self._writer = writer
        self._topic = topic
        self._reads = reads or primary_only(writer)

    async def export(self, tenant_id: str, task_id: str, body: LinkCreate) -> Link:
        try:
            async with self._writer.writing() as session:
                # The task's row lock queues concurrent exports of one task, so only one of
                # two identical requests registers a link (the unique index backs this up).
                task = await find_task(TaskRepository(session), tenant_id, task_id, for_update=True)
                link = await self._register(session, task, body)
                links_changed(task)
                state = await self._current_state(session, task)
                event = export_requested(link, state)
                self._writer.add_event(session, self._topic, event, key=task.id)
        except IntegrityError as exc:
            raise self._already_exported(task_id, body.connection_id) from exc
        self._writer.committed()
        return link

    async def of_task(
        self, tenant_id: str, task_id: str, *, after: int | None = None
    ) -> Sequence[Link]:
        """The task's links, oldest first; a deleted task's too (its copies were archived)."""

        async def read(session: AsyncSession) -> Sequence[Link]:
            await find_task(TaskRepository(session), tenant_id, task_id, include_deleted=True)
            return await LinkRepository(session).of_task(tenant_id, task_id)

        return await self._reads.read(tenant_id, read, after=after)

    async def on_link_changed(self, event: CloudEvent[Any]) -> None:
        data = event.data
        assert isinstance(data, LinkChanged)
        async with self._writer.writing() as session:
            if await already_processed(session, CONSUMER, event.id):
                LINK_EVENTS.labels("duplicate").inc()
                return
            outcome, resent = await self._apply(session, data)
            await mark_processed(session, CONSUMER, event.id)
        LINK_EVENTS.labels(outcome).inc()
        if resent:
            LINK_RESENDS.inc()
            self._writer.committed()

    # ------------------------------------------------------------------------------------------
    async def _register(self, session: AsyncSession, task: Task, body: LinkCreate) -> Link:
        links = LinkRepository(session)
        now = self._writer.now()
        link = await links.current(task.tenant_id, task.id, body.connection_id)
        if link is None:
            link = Link(
                id=new_id(),
                tenant_id=task.tenant_id,
                task_id=task.id,
                provider=body.provider,
                connection_id=body.connection_id,
                target=dict(body.target),
                status="pending",
                created_at=now,
                updated_at=now,
            )
            links.add(link)
        elif link.status in ("failed", "paused"):
            # Exporting again reuses the link: the same id is the marker a connector looks
            # for, so an item a failed attempt half-made is adopted, and an archived item is
            # restored, not duplicated. (An unlinked link is final: its item was deleted.)
            link.target = dict(body.target)
            link.status = "pending"
            link.error = None
            link.next_attempt_at = None
            link.updated_at = now
        else:
            raise self._already_exported(task.id, body.connection_id, link_id=link.id)
        await session.flush()
        return link

    async def _current_state(self, session: AsyncSession, task: Task) -> TaskChanged:
        # The payload of the task's latest TaskChanged: the connector creates the item from it
        # and takes its clock as the link's first synced clock.
        latest = await TaskRepository(session).version(task.id, task.version)
        origin = latest.origin if latest else "core"
        changed = latest.changed_fields if latest else []
        return task_state(task, origin=origin, changed_fields=changed)

    @staticmethod
    def _already_exported(
        task_id: str, connection_id: str, *, link_id: str | None = None
    ) -> AlreadyExported:
        details = {"task_id": task_id, "connection_id": connection_id}
        if link_id is not None:
            details["link_id"] = link_id
        return AlreadyExported(
            f"task {task_id!r} is already exported to connection {connection_id!r}", **details
        )

    async def _apply(self, session: AsyncSession, data: LinkChanged) -> tuple[str, bool]:
        """The outcome (for the metric) and whether the task's state was queued again."""
        # Task first, then link: the order every writer locks them in (no deadlocks).
        task = await TaskRepository(session).get(
            data.tenant_id, data.task_id, for_update=True, include_deleted=True
        )
        link = await LinkRepository(session).get(data.tenant_id, data.link_id, for_update=True)
        if task is None or link is None or link.task_id != task.id:
            log.warning("link_event_for_unknown_link", link_id=data.link_id, task_id=data.task_id)
            return "unknown_link", False
        outcome = self._apply_status(link, data)
        if outcome == "unlinked":
            # unlink raises the task's links_version itself (as for every way a link goes).
            await unlink(self._writer, session, task, link, origin=origin_of(link, data.replica))
            return outcome, False
        links_changed(task)
        if outcome == "paused" and data.reason == "item_archived":
            flag_archived(self._writer, task, link)
        elif outcome == "active":
            clear_flag_of(task, link)
        resent = outcome == "active" and await self._resend_if_behind(session, task, link, data)
        return outcome, resent

    def _apply_status(self, link: Link, data: LinkChanged) -> str:
        """Set the link's status from ``data`` (all but the unlink note, which the caller
        writes); returns the outcome, ``ignored`` when the news changes nothing."""
        now = self._writer.now()
        if link.status in ("unlinked", "archived"):
            # Terminal: the copy is gone (or archived with its deleted task); a late "active"
            # or "retrying" must not revive a link a new export may already have replaced.
            return "ignored"
        if data.status == "unlinked":
            return "unlinked"
        if data.status == "failed" and link.status == "active":
            # A failed retry of an export that had succeeded: the item exists all the same.
            # A link whose writes are being retried is no longer active, so the failure that
            # ends those retries is applied below.
            return "ignored"
        link.status = data.status
        # Only a retrying link has a next attempt; any other news ends the retries.
        link.next_attempt_at = data.next_attempt_at if data.status == "retrying" else None
        link.updated_at = now
        if data.status == "active":
            # An "active" that does not repeat the item's identity (a link recovering from
            # retrying) keeps what an earlier one said rather than erase it.
            link.replica = data.replica or link.replica
            link.external_id = data.external_id or link.external_id
            link.url = data.url or link.url
            # Active with an error: the provider refused a write for good and the link syncs
            # on (the refused value is offered again with the next change); active without
            # one clears it.
            link.error = data.error
        elif data.status == "retrying":
            # A pending export stays without replica or item until the create succeeds; an
            # active link keeps its item while its writes are retried.
            link.error = data.error or "the connector is retrying a failed provider call"
        elif data.status == "failed":
            link.error = data.error or "the connector could not create or write the item"
        elif data.status == "paused":
            link.error = data.error or "the link waits for a person"
        return data.status

    async def _resend_if_behind(
        self, session: AsyncSession, task: Task, link: Link, data: LinkChanged
    ) -> bool:
        """Queue the task's current state again when the item just reported active is behind.

        The connector creates the item from the state in ``ExportRequested``; a change made
        while it was doing so may have reached it before it knew the link, and was dropped
        then. ``synced_clock`` says what the item reflects: if the task's clock is not covered
        by it, the latest state goes out again (a deleted task's too, so its new item is
        archived). Connectors drop it for links whose synced clock already covers it. It is
        the same state as the latest version, so no version and no history row.
        """
        if data.synced_clock is None:
            # An older connector: nothing to compare with, and it never reported a clock.
            return False
        if VectorClock(task.clock).dominated_by(data.synced_clock):
            return False
        state = await self._current_state(session, task)
        self._writer.add_event(session, self._writer.topic, task_envelope(state), key=task.id)
        log.info(
            "task_state_resent",
            task_id=task.id,
            link_id=link.id,
            task_clock=task.clock,
            synced_clock=data.synced_clock.to_dict(),
        )
        return True
