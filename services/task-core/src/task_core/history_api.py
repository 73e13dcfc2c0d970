"""A task's history and the tenant's recorded conflicts (internal API, the gateway calls it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from task_core.consistency import ReadAfter
from task_core.endpoints import ID_PATTERN, NOT_FOUND, Cursor, Limit, TaskId, TenantId, decoded
from task_core.models import ConflictRecord, TaskVersion
from task_core.pagination import (
    decode_cursor,
    decode_version_cursor,
    encode_cursor,
    encode_version_cursor,
)
from task_core.state import Tasks
from tether_contracts.sync import ConflictOut, ConflictPage, HistoryEntry, HistoryPage
from tether_events import VectorClock
from tether_sync import field_name

LEGACY = ("due_date",)

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["history"])


def history_entry(row: TaskVersion) -> HistoryEntry:
    return HistoryEntry.model_validate(
        {
            "version": row.version,
            "origin": row.origin,
            "changed_fields": row.changed_fields,
            "clock": VectorClock(row.clock),
            "fields": row.fields,
            "recorded_at": row.recorded_at,
        }
    )


def conflict_out(row: ConflictRecord) -> ConflictOut:
    out = ConflictOut.model_validate(row, from_attributes=True)
    # Recorded before the due could be an instant: its field was called due_date.
    return out.model_copy(update={"field": field_name(out.field)}) if out.field in LEGACY else out


@router.get(
    "/tasks/{task_id}/history",
    summary="A task's versions, newest first, a page at a time",
    description="Each accepted change with the replica it came from. A deleted task's history "
    "stays readable.",
    responses=NOT_FOUND,
)
async def task_history(
    tenant_id: TenantId,
    task_id: TaskId,
    tasks: Tasks,
    read_after: ReadAfter,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> HistoryPage:
    before = decoded(decode_version_cursor, cursor)
    rows, next_before = await tasks.history(
        tenant_id, task_id, limit=limit, before=before, read_after=read_after
    )
    return HistoryPage(
        items=[history_entry(row) for row in rows],
        next_cursor=encode_version_cursor(next_before) if next_before is not None else None,
    )


@router.get("/conflicts", summary="Recorded conflicts, newest first, a page at a time")
async def list_conflicts(
    tenant_id: TenantId,
    tasks: Tasks,
    read_after: ReadAfter,
    task_id: Annotated[
        str | None,
        Query(min_length=1, max_length=128, pattern=ID_PATTERN, description="Only this task's"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ConflictPage:
    after = decoded(decode_cursor, cursor)
    rows, position = await tasks.conflicts(
        tenant_id, task_id=task_id, limit=limit, after=after, read_after=read_after
    )
    return ConflictPage(
        items=[conflict_out(row) for row in rows],
        next_cursor=encode_cursor(position) if position else None,
    )
