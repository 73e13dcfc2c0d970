"""Queries on connections: a person's provider account and its health."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.store.records import utcnow
from tether_connector_runtime.store.tables import ConnectorTables


class ConnectionQueries:
    t: ConnectorTables  # set by ConnectorRepository

    async def add_connection(self, session: AsyncSession, **values: Any) -> None:
        await session.execute(insert(self.t.connections).values(created_at=utcnow(), **values))

    async def connection(
        self, session: AsyncSession, connection_id: str, *, for_update: bool = False
    ) -> Any | None:
        """The connection's row; ``for_update``: locked until the transaction ends (on
        PostgreSQL; SQLite has no row locks and ignores it)."""
        c = self.t.connections
        query = select(c).where(c.c.id == connection_id)
        if for_update:
            query = query.with_for_update()
        return (await session.execute(query)).first()

    async def remove_connection(self, session: AsyncSession, connection_id: str) -> None:
        c = self.t.connections
        await session.execute(delete(c).where(c.c.id == connection_id))

    async def set_list_mapping(
        self, session: AsyncSession, connection_id: str, mapping: dict[str, Any] | None
    ) -> None:
        c = self.t.connections
        await session.execute(
            update(c).where(c.c.id == connection_id).values(list_mapping=mapping or None)
        )

    async def connection_of_account(
        self, session: AsyncSession, tenant_id: str, account_id: str
    ) -> Any | None:
        c = self.t.connections
        return (
            await session.execute(
                select(c)
                .where(c.c.tenant_id == tenant_id, c.c.account_id == account_id)
                .order_by(c.c.created_at)
            )
        ).first()

    async def update_connection(
        self, session: AsyncSession, connection_id: str, **values: Any
    ) -> None:
        c = self.t.connections
        await session.execute(update(c).where(c.c.id == connection_id).values(**values))

    async def set_owner_zone(
        self, session: AsyncSession, tenant_id: str, owner_id: str, zone: str
    ) -> int:
        c = self.t.connections
        done = await session.execute(
            update(c)
            .where(c.c.tenant_id == tenant_id, c.c.owner_id == owner_id)
            .values(time_zone=zone)
        )
        return int(done.rowcount)  # type: ignore[attr-defined]

    async def connections_of(self, session: AsyncSession, tenant_id: str) -> list[Any]:
        c = self.t.connections
        rows = await session.execute(
            select(c).where(c.c.tenant_id == tenant_id).order_by(c.c.created_at)
        )
        return list(rows)

    async def broken_connection_ids(self, session: AsyncSession) -> set[str]:
        c = self.t.connections
        rows = await session.execute(select(c.c.id).where(c.c.status == "broken"))
        return {str(r[0]) for r in rows}
