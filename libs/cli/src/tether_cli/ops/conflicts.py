"""``tether conflicts``: the conflicts task-core's merge resolved, newest first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from task_core.config import TaskCoreSettings
from task_core.repository import ConflictRepository
from tether_cli.ops.common import database, out, print_json, run
from tether_common.db import session_factory, transaction


@dataclass(frozen=True)
class ConflictView:
    """A field both sides changed: the value each side held, who won under which policy."""

    id: str
    tenant_id: str
    task_id: str
    field: str
    base_value: Any
    core_value: Any
    provider_value: Any
    provider_replica: str
    winner: str
    winning_value: Any
    policy: str
    resolved_at: datetime


async def recent_conflicts(
    *, tenant_id: str | None, task_id: str | None, limit: int
) -> list[ConflictView]:
    """Up to ``limit`` conflicts from task-core's database (``TETHER_TASK_CORE_DATABASE_URL``),
    newest first. Raises OperatorError when it cannot be reached."""
    url = TaskCoreSettings().database_url
    async with (
        database("task-core", url) as engine,
        transaction(session_factory(engine)) as session,
    ):
        rows = await ConflictRepository(session).recent(
            tenant_id=tenant_id, task_id=task_id, limit=limit
        )
        return [
            ConflictView(
                id=r.id,
                tenant_id=r.tenant_id,
                task_id=r.task_id,
                # Rows older than instant dues name the field due_date (see ConflictRecord).
                field="due" if r.field == "due_date" else r.field,
                base_value=r.base_value,
                core_value=r.core_value,
                provider_value=r.provider_value,
                provider_replica=r.provider_replica,
                winner=r.winner,
                winning_value=r.winning_value,
                policy=r.policy,
                resolved_at=r.resolved_at,
            )
            for r in rows
        ]


def _shown(value: Any) -> str:
    return json.dumps(value)[:60]


def conflicts(
    task: Annotated[str | None, typer.Option(help="Only this task's conflicts")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant id's conflicts")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON list on stdout")] = False,
) -> None:
    """List conflicts task-core resolved: field, both values, winner, policy, when."""
    views = run(recent_conflicts(tenant_id=tenant, task_id=task, limit=limit))
    if as_json:
        print_json([asdict(v) for v in views])
        return
    table = Table("when", "task", "field", "core value", "provider value", "winner", "policy")
    for v in views:
        table.add_row(
            v.resolved_at.isoformat(timespec="seconds"),
            v.task_id,
            v.field,
            _shown(v.core_value),
            f"{_shown(v.provider_value)} ({v.provider_replica})",
            v.winner,
            v.policy,
        )
    out.print(table)
    out.print(f"{len(views)} conflict(s)")
