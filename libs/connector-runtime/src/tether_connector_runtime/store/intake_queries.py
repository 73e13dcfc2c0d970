"""Queries of the webhook intake and reconciliation: webhooks, deliveries seen, events
processed once, and how far each container's history has been read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.store.records import utcnow
from tether_connector_runtime.store.tables import ConnectorTables


class IntakeQueries:
    t: ConnectorTables  # set by ConnectorRepository

    async def forget_webhooks_of(self, session: AsyncSession, connection_id: str) -> None:
        """The provider dropped them (Trello deletes a token's webhooks when it is revoked):
        forgotten, they are registered again by the next reconciliation."""
        await session.execute(
            delete(self.t.webhooks).where(self.t.webhooks.c.connection_id == connection_id)
        )

    async def webhook_for(self, session: AsyncSession, connection_id: str, model_id: str) -> Any:
        w = self.t.webhooks
        return (
            await session.execute(
                select(w).where(w.c.connection_id == connection_id, w.c.model_id == model_id)
            )
        ).first()

    async def add_webhook(self, session: AsyncSession, **values: Any) -> bool:
        """Add a webhook's row; False when one with its id (or key) exists already."""
        return await self._insert_once(session, self.t.webhooks, created_at=utcnow(), **values)

    async def webhook_by_hook_key(self, session: AsyncSession, hook_key: str) -> Any:
        w = self.t.webhooks
        return (await session.execute(select(w).where(w.c.hook_key == hook_key))).first()

    async def claim_webhook(
        self,
        session: AsyncSession,
        connection_id: str,
        model_id: str,
        *,
        now: datetime,
        renew_before: datetime,
        until: datetime,
    ) -> Any:
        """The webhook's row, claimed until ``until`` for asking the provider, when it needs
        the provider (not registered, or expiring before ``renew_before``) and nobody holds a
        claim that runs past ``now``; None otherwise. One conditional UPDATE: of callers racing
        for the row (tasks of one process or replicas), exactly one gets it."""
        w = self.t.webhooks
        claimed = await session.execute(
            update(w)
            .where(
                w.c.connection_id == connection_id,
                w.c.model_id == model_id,
                or_(w.c.claimed_until.is_(None), w.c.claimed_until <= now),
                or_(
                    w.c.external_webhook_id.is_(None),
                    and_(w.c.expires_at.is_not(None), w.c.expires_at < renew_before),
                ),
            )
            .values(claimed_until=until)
            .returning(*w.c)
        )
        return claimed.first()

    async def release_webhook(self, session: AsyncSession, webhook_id: str) -> None:
        """Give a claim back without a registration (the provider refused or failed): the
        next export or reconciliation asks again."""
        w = self.t.webhooks
        await session.execute(update(w).where(w.c.id == webhook_id).values(claimed_until=None))

    async def webhook_registered(
        self,
        session: AsyncSession,
        webhook_id: str,
        external_id: str,
        secret: str | None,
        expires_at: datetime | None = None,
    ) -> None:
        """The provider's answer to a registration: its id, the webhook's own signing
        secret (ciphertext) if it has one, and when it expires unless refreshed; the claim
        that asked for it is given back."""
        w = self.t.webhooks
        await session.execute(
            update(w)
            .where(w.c.id == webhook_id)
            .values(
                external_webhook_id=external_id,
                secret_encrypted=secret,
                expires_at=expires_at,
                claimed_until=None,
            )
        )

    async def webhook_by_external_id(self, session: AsyncSession, external_id: str) -> Any:
        w = self.t.webhooks
        return (
            await session.execute(select(w).where(w.c.external_webhook_id == external_id))
        ).first()

    async def webhooks_on(self, session: AsyncSession, model_id: str) -> list[Any]:
        w = self.t.webhooks
        return list(await session.execute(select(w).where(w.c.model_id == model_id)))

    async def remove_webhook(self, session: AsyncSession, webhook_id: str) -> None:
        await session.execute(delete(self.t.webhooks).where(self.t.webhooks.c.id == webhook_id))

    async def delivery_seen(self, session: AsyncSession, delivery_id: str) -> bool:
        d = self.t.deliveries
        found = await session.execute(select(d.c.delivery_id).where(d.c.delivery_id == delivery_id))
        return found.first() is not None

    async def first_delivery(self, session: AsyncSession, delivery_id: str) -> bool:
        """Record a webhook delivery; False when it was seen before (a retry or duplicate)."""
        return await self._insert_once(
            session, self.t.deliveries, delivery_id=delivery_id, received_at=utcnow()
        )

    async def first_processing(self, session: AsyncSession, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` handled an event; False when it already had."""
        return await self._insert_once(
            session,
            self.t.processed_events,
            consumer=consumer,
            event_id=event_id,
            processed_at=utcnow(),
        )

    async def _insert_once(self, session: AsyncSession, table: Table, **values: Any) -> bool:
        """Insert a row unless one with the same unique key exists; True when inserted. One
        statement (``INSERT ... ON CONFLICT DO NOTHING``, which PostgreSQL and SQLite both
        speak), not a savepoint and a caught error."""
        dialect = session.get_bind().dialect.name
        insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert_of(table).values(**values).on_conflict_do_nothing().returning(literal(1))
        return (await session.execute(statement)).first() is not None

    async def cursor(self, session: AsyncSession, container_id: str) -> str | None:
        c = self.t.cursors
        row = (
            await session.execute(select(c.c.cursor).where(c.c.container_id == container_id))
        ).first()
        return str(row[0]) if row else None

    async def save_cursor(self, session: AsyncSession, container_id: str, cursor: str) -> None:
        c = self.t.cursors
        updated = await session.execute(
            update(c)
            .where(c.c.container_id == container_id)
            .values(cursor=cursor, updated_at=utcnow())
        )
        if not updated.rowcount:  # type: ignore[attr-defined]
            await session.execute(
                insert(c).values(container_id=container_id, cursor=cursor, updated_at=utcnow())
            )
