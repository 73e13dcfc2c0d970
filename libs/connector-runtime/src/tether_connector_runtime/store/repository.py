"""Every query a connector makes, over its provider's tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.store.tables import ConnectorTables
from tether_events.clock import VectorClock
from tether_sync import LinkState, TaskFields


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Parked:
    """A link's work waiting for a retry: the newest task state still to write (or to create
    the item from), as a ``TaskChanged`` payload, and the retry schedule."""

    task: dict[str, Any]
    attempts: int
    next_attempt_at: datetime | None
    retry_until: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class WriteIntent:
    """A write to the provider under way: the fields it sets the item to, and the task clock
    it brings the item to. Recorded before the call, cleared when the new base is saved."""

    fields: TaskFields
    clock: VectorClock


@dataclass(frozen=True)
class StoredLink:
    """A link as the connector knows it: where the item lives plus its sync state."""

    link_id: str
    tenant_id: str
    task_id: str
    connection_id: str
    container_id: str
    external_id: str | None
    replica: str | None
    url: str | None
    status: str
    state: LinkState | None  # None until the provider item exists
    target: dict[str, str] | None = None  # where the export asked the item to go
    parked: Parked | None = None  # work waiting for a retry
    intent: WriteIntent | None = None  # a write that may have reached the provider

    @property
    def is_parked(self) -> bool:
        return self.parked is not None

    @classmethod
    def from_row(cls, row: Any) -> StoredLink:
        state = None
        if row.replica is not None:
            state = LinkState(
                link_id=row.link_id,
                task_id=row.task_id,
                replica=row.replica,
                synced_clock=VectorClock(row.synced_clock),
                synced_fields=TaskFields.model_validate(row.synced_fields),
            )
        parked = None
        if row.parked is not None:
            parked = Parked(
                task=dict(row.parked),
                attempts=int(row.attempts),
                next_attempt_at=row.next_attempt_at,
                retry_until=row.retry_until,
                last_error=row.last_error,
            )
        return cls(
            row.link_id,
            row.tenant_id,
            row.task_id,
            row.connection_id,
            row.container_id,
            row.external_id,
            row.replica,
            row.url,
            row.status,
            state,
            dict(row.target) if row.target is not None else None,
            parked,
            _intent(row.intent),
        )


def _intent(raw: Any) -> WriteIntent | None:
    if raw is None:
        return None
    return WriteIntent(TaskFields.model_validate(raw["fields"]), VectorClock(raw["clock"]))


class ConnectorRepository:
    def __init__(self, tables: ConnectorTables) -> None:
        self.t = tables

    # connections -----------------------------------------------------------------------------
    async def add_connection(self, session: AsyncSession, **values: Any) -> None:
        await session.execute(insert(self.t.connections).values(created_at=_now(), **values))

    async def connection(self, session: AsyncSession, connection_id: str) -> Any | None:
        c = self.t.connections
        return (await session.execute(select(c).where(c.c.id == connection_id))).first()

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

    async def connections_of(self, session: AsyncSession, tenant_id: str) -> list[Any]:
        c = self.t.connections
        rows = await session.execute(
            select(c).where(c.c.tenant_id == tenant_id).order_by(c.c.created_at)
        )
        return list(rows)

    # links -----------------------------------------------------------------------------------
    async def link(
        self, session: AsyncSession, link_id: str, *, for_update: bool = False
    ) -> StoredLink | None:
        """``for_update``: lock the row until the transaction ends (a write or an observation
        of the link takes its turn)."""
        statement = select(self.t.links).where(self.t.links.c.link_id == link_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await session.execute(statement)).first()
        return StoredLink.from_row(row) if row else None

    async def links_of_task(self, session: AsyncSession, task_id: str) -> list[StoredLink]:
        """The links task changes go to: live ones, those being created, and those whose
        archiving is unfinished."""
        rows = await session.execute(
            select(self.t.links).where(
                self.t.links.c.task_id == task_id,
                self.t.links.c.status.in_(("pending", "active", "archiving")),
            )
        )
        return [StoredLink.from_row(r) for r in rows]

    async def add_pending_link(
        self,
        session: AsyncSession,
        *,
        link_id: str,
        tenant_id: str,
        task_id: str,
        connection_id: str,
        target: dict[str, str],
    ) -> None:
        """A link whose item is being created: recorded before the provider is asked, so a
        retry knows an earlier attempt may have made the item already."""
        await session.execute(
            insert(self.t.links).values(
                link_id=link_id,
                tenant_id=tenant_id,
                task_id=task_id,
                connection_id=connection_id,
                container_id="",
                status="pending",
                synced_clock={},
                synced_fields={},
                target=target,
                updated_at=_now(),
            )
        )

    async def restart_export(
        self, session: AsyncSession, link_id: str, target: dict[str, str]
    ) -> None:
        """A failed link exported again: pending once more, towards ``target``."""
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(status="pending", target=target, updated_at=_now())
        )

    async def park(
        self,
        session: AsyncSession,
        link_id: str,
        *,
        task: dict[str, Any],
        attempts: int,
        next_attempt_at: datetime,
        retry_until: datetime,
        error: str,
    ) -> None:
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(
                parked=task,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                retry_until=retry_until,
                last_error=error[:4000],
                updated_at=_now(),
            )
        )

    async def unpark(self, session: AsyncSession, link_id: str) -> None:
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(
                parked=None,
                attempts=0,
                next_attempt_at=None,
                retry_until=None,
                last_error=None,
                updated_at=_now(),
            )
        )

    async def due_links(self, session: AsyncSession, now: datetime, limit: int) -> list[str]:
        """Ids of parked links whose next attempt is due, soonest first."""
        links = self.t.links
        rows = await session.execute(
            select(links.c.link_id)
            .where(links.c.next_attempt_at.is_not(None), links.c.next_attempt_at <= now)
            .order_by(links.c.next_attempt_at)
            .limit(limit)
        )
        return [str(r[0]) for r in rows]

    async def link_by_external_id(
        self, session: AsyncSession, external_id: str
    ) -> StoredLink | None:
        row = (
            await session.execute(
                select(self.t.links).where(
                    self.t.links.c.external_id == external_id, self.t.links.c.status == "active"
                )
            )
        ).first()
        return StoredLink.from_row(row) if row else None

    async def active_links(self, session: AsyncSession) -> list[StoredLink]:
        rows = await session.execute(select(self.t.links).where(self.t.links.c.status == "active"))
        return [StoredLink.from_row(r) for r in rows]

    async def save_link(
        self, session: AsyncSession, link: StoredLink, state: LinkState | None
    ) -> None:
        values = {
            "tenant_id": link.tenant_id,
            "task_id": link.task_id,
            "connection_id": link.connection_id,
            "container_id": link.container_id,
            "external_id": link.external_id,
            "replica": link.replica,
            "url": link.url,
            "status": link.status,
            "synced_clock": state.synced_clock.to_dict() if state else {},
            "synced_fields": state.synced_fields.model_dump(mode="json") if state else {},
            "updated_at": _now(),
        }
        links = self.t.links
        updated = await session.execute(
            update(links).where(links.c.link_id == link.link_id).values(**values)
        )
        if not updated.rowcount:  # type: ignore[attr-defined]
            await session.execute(insert(links).values(link_id=link.link_id, **values))

    async def save_state(self, session: AsyncSession, state: LinkState) -> None:
        """The link's new base; any write intent is settled by it."""
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == state.link_id)
            .values(
                synced_clock=state.synced_clock.to_dict(),
                synced_fields=state.synced_fields.model_dump(mode="json"),
                intent=None,
                updated_at=_now(),
            )
        )

    async def record_intent(self, session: AsyncSession, link_id: str, intent: WriteIntent) -> None:
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(
                intent={
                    "fields": intent.fields.model_dump(mode="json"),
                    "clock": intent.clock.to_dict(),
                },
                updated_at=_now(),
            )
        )

    async def link_of_task(
        self, session: AsyncSession, task_id: str, connection_id: str
    ) -> StoredLink | None:
        links = self.t.links
        row = (
            await session.execute(
                select(links).where(
                    links.c.task_id == task_id, links.c.connection_id == connection_id
                )
            )
        ).first()
        return StoredLink.from_row(row) if row else None

    async def set_link_status(self, session: AsyncSession, link_id: str, status: str) -> None:
        links = self.t.links
        await session.execute(
            update(links).where(links.c.link_id == link_id).values(status=status, updated_at=_now())
        )

    # webhooks --------------------------------------------------------------------------------
    async def webhook_for(self, session: AsyncSession, connection_id: str, model_id: str) -> Any:
        w = self.t.webhooks
        return (
            await session.execute(
                select(w).where(w.c.connection_id == connection_id, w.c.model_id == model_id)
            )
        ).first()

    async def add_webhook(self, session: AsyncSession, **values: Any) -> None:
        await session.execute(insert(self.t.webhooks).values(created_at=_now(), **values))

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

    # idempotency -----------------------------------------------------------------------------
    async def delivery_seen(self, session: AsyncSession, delivery_id: str) -> bool:
        d = self.t.deliveries
        found = await session.execute(select(d.c.delivery_id).where(d.c.delivery_id == delivery_id))
        return found.first() is not None

    async def first_delivery(self, session: AsyncSession, delivery_id: str) -> bool:
        """Record a webhook delivery; False when it was seen before (a retry or duplicate)."""
        return await self._insert_once(
            session, insert(self.t.deliveries).values(delivery_id=delivery_id, received_at=_now())
        )

    async def first_processing(self, session: AsyncSession, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` handled an event; False when it already had."""
        return await self._insert_once(
            session,
            insert(self.t.processed_events).values(
                consumer=consumer, event_id=event_id, processed_at=_now()
            ),
        )

    async def _insert_once(self, session: AsyncSession, statement: Any) -> bool:
        try:
            async with session.begin_nested():
                await session.execute(statement)
        except IntegrityError:
            return False
        return True

    # reconciliation cursors ------------------------------------------------------------------
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
            .values(cursor=cursor, updated_at=_now())
        )
        if not updated.rowcount:  # type: ignore[attr-defined]
            await session.execute(
                insert(c).values(container_id=container_id, cursor=cursor, updated_at=_now())
            )
