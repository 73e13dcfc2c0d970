"""Provider changes -> core: the sync engine's three-way merge, persisted in one transaction.

For each ``ProviderItemChanged``: the inbox check, the merge (``tether_sync``), the task with
its new clock, values and stamps, a history row, one row per conflict, the merged TaskChanged
in the outbox, and the inbox row; all or nothing.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from task_core.core_task import api_changed_fields, to_core, write_back
from task_core.links import unlink
from task_core.metrics import CONFLICTS, PROVIDER_CHANGES
from task_core.models import ConflictRecord, new_id
from task_core.repository import (
    ConflictRepository,
    LinkRepository,
    TaskRepository,
    already_processed,
    mark_processed,
)
from task_core.writer import TaskWriter
from tether_events import CloudEvent, ProviderItemChanged
from tether_sync import Conflict, MergeStatus, ProviderChange, SyncPolicy, merge_provider_change

log = structlog.get_logger(__name__)

CONSUMER = "task-core.provider-changed"


class ChangeNotReady(Exception):
    """The change's base clock is ahead of the task: an earlier change of the same link has
    not been merged yet, so its base values would be wrong. Raised so the bus redelivers it.

    Safe to wait on: every change of a task travels keyed by the task id, so one partition
    carries them in publishing order and the predecessor is ahead of this change, never
    behind it; waiting cannot deadlock on an event stuck behind us. It only stalls if the
    predecessor was lost, which the metric ``provider_changes_total{outcome="not_ready"}``
    and the retry log show.
    """


def provider_change(data: ProviderItemChanged) -> ProviderChange:
    return ProviderChange(
        task_id=data.task_id,
        link_id=data.link_id,
        replica=data.replica,
        base_clock=data.base_clock,
        base_values=data.base_values,
        new_values=data.new_values,
        edited_at=data.edited_at,
        # Fields outside the change are ignored (an older connector may name none at all).
        field_edited_at={k: v for k, v in data.field_edited_at.items() if k in data.new_values},
        field_limits={k: v for k, v in data.field_limits.items() if k in data.new_values},
    )


def conflict_record(tenant_id: str, conflict: Conflict) -> ConflictRecord:
    values = conflict.model_dump(mode="json")
    return ConflictRecord(
        id=new_id(),
        tenant_id=tenant_id,
        task_id=conflict.task_id,
        field=conflict.field,
        base_value=values["base_value"],
        core_value=values["core_value"],
        provider_value=values["provider_value"],
        core_replica=conflict.core_replica,
        provider_replica=conflict.provider_replica,
        winner=conflict.winner,
        winning_value=values["winning_value"],
        policy=str(conflict.policy),
        resolved_at=conflict.resolved_at,
    )


class ProviderChangeService:
    def __init__(self, writer: TaskWriter, *, policy: SyncPolicy, dead_letter_topic: str) -> None:
        self._writer = writer
        self._policy = policy
        self._dead_letter_topic = dead_letter_topic

    async def on_provider_changed(self, event: CloudEvent[Any]) -> None:
        data = event.data
        assert isinstance(data, ProviderItemChanged)
        async with self._writer.writing() as session:
            if await already_processed(session, CONSUMER, event.id):
                PROVIDER_CHANGES.labels("redelivered").inc()
                return
            outcome = await self._apply(session, event, data)
            await mark_processed(session, CONSUMER, event.id)
        PROVIDER_CHANGES.labels(outcome).inc()
        if outcome in ("applied", "invalid"):
            self._writer.committed()

    async def _apply(
        self, session: AsyncSession, event: CloudEvent[Any], data: ProviderItemChanged
    ) -> str:
        if data.deleted:
            return await self._provider_deleted(session, data)
        try:
            if event.tenantid != data.tenant_id:
                raise ValueError("the envelope's tenantid differs from data.tenant_id")
            change = provider_change(data)
        except (ValidationError, ValueError) as exc:
            # Retrying cannot make it valid, and blocking the partition would stop every
            # task behind it: park it on the dead-letter topic (with this commit) instead.
            log.error("provider_change_invalid", event_id=event.id, error=str(exc))
            self._writer.add_event(session, self._dead_letter_topic, event, key=event.subject)
            return "invalid"
        task = await TaskRepository(session).get(data.tenant_id, data.task_id, for_update=True)
        if task is None:
            # Unknown, deleted or another tenant's: nothing to merge into. Recorded as
            # processed so the partition moves on (a deleted task's snapshot already told
            # the connector to archive its copy).
            log.warning("provider_change_for_unknown_task", task_id=data.task_id, event_id=event.id)
            return "unknown_task"
        now = self._writer.now()
        before = to_core(task)
        outcome = merge_provider_change(before, change, self._policy, now=now)
        if outcome.status is MergeStatus.DUPLICATE:
            return "duplicate"
        if outcome.status is MergeStatus.NOT_READY:
            PROVIDER_CHANGES.labels("not_ready").inc()
            raise ChangeNotReady(
                f"change {event.id} of {change.replica} has base clock "
                f"{change.base_clock.to_dict()}, task {task.id} is at {task.clock}"
            )
        write_back(task, outcome.task)
        # Published even when no value changed: the merged clock includes the change, which
        # is what links wait for before they write again (see tether_sync.decide_outbound).
        changed = api_changed_fields(outcome.changed, before.fields, outcome.task.fields)
        self._writer.record(session, task, changed, origin=change.replica, at=now)
        conflicts = ConflictRepository(session)
        for conflict in outcome.conflicts:
            conflicts.add(conflict_record(task.tenant_id, conflict))
            log.info(
                "conflict_resolved",
                task_id=task.id,
                field=conflict.field,
                winner=conflict.winner,
                policy=str(conflict.policy),
            )
        CONFLICTS.inc(len(outcome.conflicts))
        return "applied"

    async def _provider_deleted(self, session: AsyncSession, data: ProviderItemChanged) -> str:
        """The provider's copy is gone: unlink it and note it; the task itself stays."""
        task = await TaskRepository(session).get(
            data.tenant_id, data.task_id, for_update=True, include_deleted=True
        )
        link = await LinkRepository(session).get(data.tenant_id, data.link_id, for_update=True)
        if task is None or link is None or link.task_id != task.id:
            log.warning("provider_delete_for_unknown_link", link_id=data.link_id)
            return "unknown_link"
        if link.status != "unlinked":
            await unlink(
                self._writer,
                session,
                task,
                link,
                origin=data.replica,
                out_of_reach=data.gone == "out_of_reach",
            )
        return "unlinked"
