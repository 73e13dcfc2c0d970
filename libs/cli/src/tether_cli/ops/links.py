"""``tether links``: every link the connectors hold, with its state, from their databases."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from tether_cli.ops.common import database, out, print_json, run
from tether_cli.ops.kits import ConnectorKit, deployed
from tether_common.db import session_factory, transaction
from tether_connector_runtime.store.records import StoredLink
from tether_connector_runtime.store.tables import connector_tables

# Not a connector status: links with work parked for a retry, whatever their status.
RETRYING = "retrying"


@dataclass(frozen=True)
class LinkView:
    """One link as an operator sees it. ``state``: ``ok``; ``retrying`` (work parked,
    ``attempts`` made, next try at ``next_attempt_at``, given up at ``retry_until``); or
    ``refused`` (the provider refused the last write for good). ``last_sync``: when the link's
    row last changed (its base, status or parked work)."""

    provider: str
    link_id: str
    tenant_id: str
    task_id: str
    connection_id: str
    external_id: str | None
    url: str | None
    status: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    retry_until: datetime | None
    last_error: str | None
    last_sync: datetime


def _view(provider: str, row: Any) -> LinkView:
    link = StoredLink.from_row(row)
    parked = link.parked
    state = "retrying" if parked else "refused" if link.refusal else "ok"
    return LinkView(
        provider=provider,
        link_id=link.link_id,
        tenant_id=link.tenant_id,
        task_id=link.task_id,
        connection_id=link.connection_id,
        external_id=link.external_id,
        url=link.url,
        status=link.status,
        state=state,
        attempts=parked.attempts if parked else 0,
        next_attempt_at=parked.next_attempt_at if parked else None,
        retry_until=parked.retry_until if parked else None,
        last_error=parked.last_error if parked else link.refusal,
        last_sync=row.updated_at,
    )


async def links_of(kit: ConnectorKit, *, status: str | None, task_id: str | None) -> list[LinkView]:
    """The links in ``kit``'s database, newest change first; ``status`` a link status or
    ``retrying``. Raises OperatorError when the database cannot be reached."""
    links = connector_tables(kit.provider).links
    query = select(links).order_by(links.c.updated_at.desc(), links.c.link_id)
    if task_id is not None:
        query = query.where(links.c.task_id == task_id)
    if status is not None and status != RETRYING:
        query = query.where(links.c.status == status)
    url = kit.settings().database_url
    async with database(kit.service, url) as engine, transaction(session_factory(engine)) as s:
        views = [_view(kit.provider, row) for row in await s.execute(query)]
    # Parked work is a JSON column, whose "none" reads back as JSON null, not SQL NULL: the
    # row's reading (StoredLink.from_row) decides, as it does for the pipeline.
    return [v for v in views if status != RETRYING or v.state == RETRYING]


async def _all_links(provider: str | None, status: str | None, task: str | None) -> list[LinkView]:
    found: list[LinkView] = []
    for kit in deployed(provider):
        found += await links_of(kit, status=status, task_id=task)
    return found


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "-"


def _table(views: list[LinkView]) -> Table:
    table = Table("provider", "link", "task", "status", "state", "last error", "last sync")
    for v in views:
        state = v.state
        if v.state == "retrying":
            state += f" (attempt {v.attempts}, next {_when(v.next_attempt_at)})"
        error = (v.last_error or "-")[:80]
        table.add_row(v.provider, v.link_id, v.task_id, v.status, state, error, _when(v.last_sync))
    return table


def links(
    provider: Annotated[str | None, typer.Option(help="Only this provider's links")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only links with this status (active, pending, paused, failed, "
            "unlinked, archived, ...) or 'retrying' (work parked for a retry)"
        ),
    ] = None,
    task: Annotated[str | None, typer.Option(help="Only the links of this task id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON list on stdout")] = False,
) -> None:
    """List links and their state, from each deployed connector's database."""
    views = run(_all_links(provider, status, task))
    if as_json:
        print_json([asdict(v) for v in views])
    else:
        out.print(_table(views))
        out.print(f"{len(views)} link(s)")
