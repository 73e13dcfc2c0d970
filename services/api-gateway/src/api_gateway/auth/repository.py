"""Every query the auth feature makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api_gateway.auth.models import ApiToken, Tenant, User


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant_by_name(self, name: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.name == name))

    async def user_by_email(self, tenant_id: str, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(User.tenant_id == tenant_id, User.email == email)
        )

    async def add(self, row: Tenant | User | ApiToken) -> None:
        self.session.add(row)
        # Flush now so a uniqueness race surfaces here, inside the caller's transaction.
        await self.session.flush()

    async def active_token(self, token_hash: str) -> tuple[ApiToken, User, Tenant] | None:
        row = (
            await self.session.execute(
                select(ApiToken, User, Tenant)
                .join(User, ApiToken.user_id == User.id)
                .join(Tenant, User.tenant_id == Tenant.id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def touch(self, token_id: str, now: datetime, stale_before: datetime) -> None:
        """Record use, but at most once per interval: a write on every request would turn
        each read into a write and serialise requests on SQLite."""
        await self.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale_before),
            )
            .values(last_used_at=now)
        )

    async def tokens_by_prefix(self, prefix: str) -> Sequence[ApiToken]:
        return (await self.session.scalars(select(ApiToken).where(ApiToken.prefix == prefix))).all()

    async def tokens_of_tenant(self, tenant_id: str) -> Sequence[tuple[ApiToken, User]]:
        rows = await self.session.execute(
            select(ApiToken, User)
            .join(User, ApiToken.user_id == User.id)
            .where(User.tenant_id == tenant_id)
            .order_by(ApiToken.created_at)
        )
        return [(token, user) for token, user in rows]

    async def set_user_time_zone(self, user_id: str, zone: str | None) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(time_zone=zone))
