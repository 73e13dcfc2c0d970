"""Queries on links: each export's item, status and sync state (base and clock)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.store.records import (
    WATCHED,
    StoredLink,
    WriteIntent,
    overwrites_json,
    utcnow,
)
from tether_connector_runtime.store.tables import ConnectorTables
from tether_sync import FieldName, LinkState
from tether_sync.overwrites import Overwrite


class LinkQueries:
    t: ConnectorTables  # set by ConnectorRepository

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
                self.t.links.c.status.in_(
                    ("pending", "active", "archiving", "paused", "restoring")
                ),
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
                updated_at=utcnow(),
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
            .values(status="pending", target=target, updated_at=utcnow())
        )

    async def link_by_external_id(
        self, session: AsyncSession, external_id: str
    ) -> StoredLink | None:
        row = (
            await session.execute(
                select(self.t.links).where(
                    self.t.links.c.external_id == external_id,
                    self.t.links.c.status.in_(WATCHED),
                )
            )
        ).first()
        return StoredLink.from_row(row) if row else None

    async def active_links(self, session: AsyncSession) -> list[StoredLink]:
        rows = await session.execute(select(self.t.links).where(self.t.links.c.status == "active"))
        return [StoredLink.from_row(r) for r in rows]

    async def watched_links(self, session: AsyncSession) -> list[StoredLink]:
        """Links whose items are looked at: active ones, and paused ones (to notice their
        item restored)."""
        rows = await session.execute(select(self.t.links).where(self.t.links.c.status.in_(WATCHED)))
        return [StoredLink.from_row(r) for r in rows]

    async def watched_links_in(self, session: AsyncSession, container_id: str) -> list[StoredLink]:
        """The watched links (:meth:`watched_links`) whose items are in ``container_id``."""
        rows = await session.execute(
            select(self.t.links).where(
                self.t.links.c.container_id == container_id,
                self.t.links.c.status.in_(WATCHED),
            )
        )
        return [StoredLink.from_row(r) for r in rows]

    async def links_of_connection(
        self, session: AsyncSession, connection_id: str, statuses: tuple[str, ...]
    ) -> list[StoredLink]:
        rows = await session.execute(
            select(self.t.links).where(
                self.t.links.c.connection_id == connection_id,
                self.t.links.c.status.in_(statuses),
            )
        )
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
            "due_zone": link.due_zone,
            "synced_clock": state.synced_clock.to_dict() if state else {},
            "synced_fields": state.synced_fields.model_dump(mode="json") if state else {},
            "updated_at": utcnow(),
        }
        links = self.t.links
        updated = await session.execute(
            update(links).where(links.c.link_id == link.link_id).values(**values)
        )
        if not updated.rowcount:  # type: ignore[attr-defined]
            await session.execute(insert(links).values(link_id=link.link_id, **values))

    async def save_state(
        self,
        session: AsyncSession,
        state: LinkState,
        *,
        due_zone: str | None = None,
        overwrites: Mapping[FieldName, Overwrite] | None = None,
        seen_at: datetime | None = None,
    ) -> None:
        """The link's new base; any write intent is settled by it. ``due_zone``: the IANA zone
        a due was just written in, kept with the base it belongs to (None: the due was not
        written, the zone stays). ``overwrites``/``seen_at``: their new values (None: kept;
        see :meth:`record_overwrites`)."""
        links = self.t.links
        zone = _overwrite_columns(overwrites, seen_at)
        if due_zone is not None:
            zone["due_zone"] = due_zone
        await session.execute(
            update(links)
            .where(links.c.link_id == state.link_id)
            .values(
                synced_clock=state.synced_clock.to_dict(),
                synced_fields=state.synced_fields.model_dump(mode="json"),
                intent=None,
                updated_at=utcnow(),
                **zone,
            )
        )

    async def record_intent(
        self,
        session: AsyncSession,
        link_id: str,
        intent: WriteIntent,
        overwrites: Mapping[FieldName, Overwrite] | None = None,
        seen_at: datetime | None = None,
    ) -> None:
        """The write about to be made, with what it may overwrite and the provider time up to
        which the base reflects the item (None: kept as they are)."""
        links = self.t.links
        more = _overwrite_columns(overwrites, seen_at)
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(
                intent={
                    "fields": intent.fields.model_dump(mode="json"),
                    "clock": intent.clock.to_dict(),
                },
                updated_at=utcnow(),
                **more,
            )
        )

    async def clear_intent(self, session: AsyncSession, link_id: str) -> None:
        """Forget the write under way: it was never sent (its base stays as it was)."""
        links = self.t.links
        await session.execute(update(links).where(links.c.link_id == link_id).values(intent=None))

    async def record_overwrites(
        self,
        session: AsyncSession,
        link_id: str,
        overwrites: Mapping[FieldName, Overwrite] | None = None,
        seen_at: datetime | None = None,
    ) -> None:
        """What the link's writes may have overwritten unseen (tether_sync.overwrites), and
        the provider's time up to which its base reflects the item (None: kept)."""
        values = _overwrite_columns(overwrites, seen_at)
        if values:
            links = self.t.links
            await session.execute(update(links).where(links.c.link_id == link_id).values(**values))

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
            update(links)
            .where(links.c.link_id == link_id)
            .values(status=status, updated_at=utcnow())
        )

    async def move_link(self, session: AsyncSession, link_id: str, container_id: str) -> None:
        """The link's item moved to another container (Trello: another board)."""
        links = self.t.links
        await session.execute(
            update(links)
            .where(links.c.link_id == link_id)
            .values(container_id=container_id, updated_at=utcnow())
        )


def _overwrite_columns(
    overwrites: Mapping[FieldName, Overwrite] | None, seen_at: datetime | None
) -> dict[str, Any]:
    """The link columns to set for ``overwrites`` and ``seen_at`` (None: left as they are)."""
    values: dict[str, Any] = {}
    if overwrites is not None:
        values["overwrites"] = overwrites_json(overwrites)
    if seen_at is not None:
        values["seen_at"] = seen_at
    return values
