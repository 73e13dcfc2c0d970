"""Gauges of what waits on people or on time, read from the connector's database.

Counted from the rows, not kept by the code that changes them: several replicas change the
same links, and a restarted replica would start from zero. Every replica refreshes them (the
same numbers: read them with ``max``, not ``sum``), on a timer rather than on scrape, because a
scrape may not wait on the database.
"""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Gauge
from sqlalchemy import func, select

from tether_common.db import transaction
from tether_connector_runtime.pipeline.context import Pipeline

log = structlog.get_logger(__name__)

LINKS_RETRYING = Gauge(
    "tether_connector_links_retrying",
    "Links whose work failed for a while and waits for its next attempt (parked with a "
    "time limit; work held for a burst window or a budget is not counted)",
    ["provider"],
)
CONNECTIONS_BROKEN = Gauge(
    "tether_connector_connections_broken",
    "Connections whose provider refuses the credentials until a person reconnects",
    ["provider"],
)


async def refresh(p: Pipeline) -> None:
    links, connections = p.repo.t.links, p.repo.t.connections
    async with transaction(p.sessions) as session:
        retrying = await session.scalar(
            select(func.count())
            .select_from(links)
            .where(links.c.next_attempt_at.is_not(None), links.c.retry_until.is_not(None))
        )
        broken = await session.scalar(
            select(func.count()).select_from(connections).where(connections.c.status == "broken")
        )
    LINKS_RETRYING.labels(p.provider).set(retrying or 0)
    CONNECTIONS_BROKEN.labels(p.provider).set(broken or 0)


async def refresh_forever(p: Pipeline, interval: float) -> None:
    while True:
        try:
            await refresh(p)
        except Exception as exc:  # the database is away: the gauges keep their last values
            log.warning("gauges_not_refreshed", provider=p.provider, error=str(exc))
        await asyncio.sleep(interval)
