"""Pending authorizations: the consent a person is giving a provider right now.

An OAuth flow starts with one request (the person asks to connect) and ends with another (the
browser comes back from the provider), which may reach another replica or a restarted
connector. What the second needs from the first is kept here: who started it (tenant and user)
and the secret that completes it, encrypted like provider tokens. Each is single use: it is
claimed, which deletes it, before the provider is asked to finish; a replayed return finds
nothing. Each also expires, so an abandoned flow leaves nothing usable behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class PendingAuthorization:
    state: str  # what the provider hands back (OAuth 1.0a: the request token)
    tenant_id: str
    user_id: str
    secret_encrypted: str
    created_at: datetime
    expires_at: datetime
    time_zone: str | None = None  # the person's IANA zone, for the connection made

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class PendingAuthorizations:
    """Queries over a provider's ``<provider>_pending_authorizations`` table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def add(self, session: AsyncSession, pending: PendingAuthorization) -> None:
        await session.execute(
            insert(self.table).values(
                state=pending.state,
                tenant_id=pending.tenant_id,
                user_id=pending.user_id,
                time_zone=pending.time_zone,
                secret_encrypted=pending.secret_encrypted,
                created_at=pending.created_at,
                expires_at=pending.expires_at,
            )
        )

    async def claim(self, session: AsyncSession, state: str) -> PendingAuthorization | None:
        """Take the authorization out of the store: None when there is none (unknown, or
        claimed already). Of two concurrent claims only the one whose delete removed the row
        gets it; on PostgreSQL the other waits for that row's lock, then deletes nothing."""
        t = self.table
        row = (await session.execute(select(t).where(t.c.state == state))).first()
        if row is None:
            return None
        deleted = await session.execute(delete(t).where(t.c.state == state))
        if deleted.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return PendingAuthorization(
            state=row.state,
            tenant_id=row.tenant_id,
            user_id=row.user_id,
            time_zone=row.time_zone,
            secret_encrypted=row.secret_encrypted,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def purge_expired(self, session: AsyncSession, now: datetime) -> int:
        """Forget abandoned flows; returns how many there were."""
        t = self.table
        deleted = await session.execute(delete(t).where(t.c.expires_at <= now))
        return int(deleted.rowcount)  # type: ignore[attr-defined]
