"""Queries on parked work (a link's task state waiting for a retry, and when) and on a write
the provider refused for good, which ends any parked work and keeps its words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.store.records import utcnow
from tether_connector_runtime.store.tables import ConnectorTables


class ParkingQueries:
    t: ConnectorTables  # set by ConnectorRepository

    async def park(
        self,
        session: AsyncSession,
        link_id: str,
        *,
        task: dict[str, Any],
        attempts: int,
        next_attempt_at: datetime,
        retry_until: datetime | None,
        error: str | None,
    ) -> None:
        await self._set_parked(
            session,
            link_id,
            parked=task,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            retry_until=retry_until,
            last_error=error[:4000] if error is not None else None,
        )

    async def hold(
        self, session: AsyncSession, link_id: str, *, task: dict[str, Any], until: datetime
    ) -> None:
        """Hold ``task`` for the end of the link's burst window (pipeline/bursts.py): parked
        work with no time limit, the link's last error left as it is."""
        await self._set_parked(
            session, link_id, parked=task, attempts=0, next_attempt_at=until, retry_until=None
        )

    async def unpark(self, session: AsyncSession, link_id: str) -> None:
        await self._end_parked_work(session, link_id, last_error=None)

    async def record_refusal(self, session: AsyncSession, link_id: str, error: str) -> None:
        """The provider refused the link's write for good: ``error`` (its words) stays on the
        link, and parked work ends (it was that write; trying it again cannot help)."""
        await self._end_parked_work(session, link_id, last_error=error[:4000])

    async def _end_parked_work(
        self, session: AsyncSession, link_id: str, *, last_error: str | None
    ) -> None:
        await self._set_parked(
            session,
            link_id,
            parked=None,
            attempts=0,
            next_attempt_at=None,
            retry_until=None,
            last_error=last_error,
        )

    async def _set_parked(self, session: AsyncSession, link_id: str, **values: Any) -> None:
        links = self.t.links
        await session.execute(
            update(links).where(links.c.link_id == link_id).values(updated_at=utcnow(), **values)
        )

    async def clear_refusal(self, session: AsyncSession, link_id: str) -> None:
        """The link's refusal no longer stands. Parked work's last error is not a refusal: it
        stays until the work is unparked (parked work always has its next attempt; ``parked``
        itself cannot be asked: a JSON None is stored as JSON ``null``, not SQL NULL)."""
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id, links.c.next_attempt_at.is_(None))
            .values(last_error=None, updated_at=utcnow())
        )

    async def due_links(self, session: AsyncSession, now: datetime, limit: int) -> list[str]:
        """Ids of parked links whose next attempt is due, soonest first; none of a broken
        connection (nothing is asked of the provider until a person reconnects)."""
        links, connections = self.t.links, self.t.connections
        rows = await session.execute(
            select(links.c.link_id)
            .join(connections, connections.c.id == links.c.connection_id)
            .where(
                links.c.next_attempt_at.is_not(None),
                links.c.next_attempt_at <= now,
                connections.c.status != "broken",
            )
            .order_by(links.c.next_attempt_at)
            .limit(limit)
        )
        return [str(r[0]) for r in rows]

    async def retry_parked_now(
        self, session: AsyncSession, connection_id: str, now: datetime, until: datetime
    ) -> None:
        """Every parked link of the connection is due at once, with a new time limit (the
        time a connection was broken does not count against its work)."""
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.connection_id == connection_id, links.c.next_attempt_at.is_not(None))
            .values(next_attempt_at=now, retry_until=until, attempts=0, updated_at=utcnow())
        )
