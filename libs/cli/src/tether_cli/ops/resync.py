"""``tether resync``: read a link's provider item again and merge what it holds.

The item goes through the connector's observation path (``observe`` with an ``ItemNotice``),
exactly as a webhook's would: what differs from the link's base is published as a provider
change through the connector's outbox (the running connector's relay sends it on), and the new
base is stored in the same transaction. Idempotent: an item holding the base publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_cli.ops.common import OperatorError, database, err, one_line, out, print_json, run
from tether_cli.ops.kits import ConnectorKit, deployed
from tether_common.db import session_factory, transaction
from tether_connector_runtime.app import build_pipeline
from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.pipeline.observations import observe
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.store.records import WATCHED, StoredLink
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.store.tables import connector_tables


@dataclass(frozen=True)
class Resynced:
    """One link's outcome: ``changed`` (the item held news, now published), ``unchanged``,
    ``gone`` (no longer active or paused afterwards: the item was deleted or moved out of
    reach) or ``failed`` (``error`` says why; the link is as it was)."""

    link_id: str
    provider: str
    outcome: str
    error: str | None = None


async def _find(
    kit: ConnectorKit, engine: AsyncEngine, link_id: str | None, connection: str | None
) -> list[StoredLink] | None:
    """The links to re-read in ``kit``'s database; None when the id is not there."""
    repo = ConnectorRepository(connector_tables(kit.provider))
    async with transaction(session_factory(engine)) as session:
        if link_id is not None:
            link = await repo.link(session, link_id)
            if link is None:
                return None
            if link.status not in WATCHED or link.external_id is None:
                raise OperatorError(
                    f"link {link_id} is {link.status}: only active or paused links have an "
                    "item to read again"
                )
            return [link]
        assert connection is not None
        if await repo.connection(session, connection) is None:
            return None
        return await repo.links_of_connection(session, connection, WATCHED)


async def _one(p: Pipeline, link: StoredLink) -> Resynced:
    assert link.external_id is not None
    try:
        await observe(p, ItemNotice(link.external_id))
    except Exception as exc:  # one link's failure is reported, the others go on
        return Resynced(
            link.link_id, p.provider, "failed", f"{type(exc).__name__}: {one_line(exc)}"
        )
    async with transaction(p.sessions) as session:
        after = await p.repo.link(session, link.link_id)
    if after is None or after.status not in WATCHED:
        return Resynced(link.link_id, p.provider, "gone")
    before_fields = link.state.synced_fields if link.state else None
    now_fields = after.state.synced_fields if after.state else None
    return Resynced(
        link.link_id, p.provider, "changed" if now_fields != before_fields else "unchanged"
    )


async def _observe_all(
    kit: ConnectorKit, engine: AsyncEngine, found: Sequence[StoredLink]
) -> list[Resynced]:
    settings = kit.settings()
    results: list[Resynced] = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        p = build_pipeline(kit.provider, settings, engine, kit.adapter(settings, http))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            bar = progress.add_task(f"re-reading {kit.provider} items", total=len(found))
            for link in found:
                results.append(await _one(p, link))
                progress.advance(bar)
    return results


async def resync_links(link_id: str | None, connection: str | None) -> list[Resynced]:
    """Re-read the item of ``link_id``, or of every active or paused link of ``connection``,
    in whichever deployed connector holds it. Raises OperatorError for an unknown id, a link
    with no item to read, or an unreachable database."""
    for kit in deployed():
        async with database(kit.service, kit.settings().database_url) as engine:
            found = await _find(kit, engine, link_id, connection)
            if found is not None:
                return await _observe_all(kit, engine, found)
    what = f"link {link_id}" if link_id is not None else f"connection {connection}"
    raise OperatorError(f"no {what} in any connector's database")


def resync(
    link_id: Annotated[str | None, typer.Argument(help="The link to re-read")] = None,
    connection: Annotated[
        str | None, typer.Option(help="Re-read every active or paused link of this connection")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON list of outcomes on stdout")
    ] = False,
) -> None:
    """Re-read provider item(s) and merge what they hold (as a webhook would); exits 1 if any
    link failed."""
    if (link_id is None) == (connection is None):
        typer.echo("error: give a LINK_ID or --connection, not both", err=True)
        raise typer.Exit(2)
    results = run(resync_links(link_id, connection))
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            out.print(
                f"{r.provider}\t{r.link_id}\t{r.outcome}" + (f"\t{r.error}" if r.error else "")
            )
        counts = {
            o: sum(r.outcome == o for r in results)
            for o in ("changed", "unchanged", "gone", "failed")
        }
        out.print(", ".join(f"{n} {o}" for o, n in counts.items()) + f" of {len(results)} link(s)")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)
