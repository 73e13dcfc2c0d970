"""Connections: a person's provider account, its secret encrypted at rest, its health.

Every way of connecting (pasted credentials, a consent flow) ends in :meth:`Connections.store`:
connecting the same account again in the same tenant repairs the existing connection (new
secret, ``active`` again) instead of making a second one, so links keep working.

Every provider session is opened here (:meth:`Connections.opened`, :meth:`Connections.current`):
credentials about to expire are renewed first, and a call the provider refuses is tried once
more with renewed credentials (credentials.py, renewing_session.py), for an adapter that can
renew (``port.CredentialRenewal``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_common.errors import DomainError, NotFound
from tether_connector_runtime.credentials import CredentialRenewer
from tether_connector_runtime.due_dates import Owner, time_zone
from tether_connector_runtime.port import (
    Account,
    CredentialRenewal,
    ProviderAdapter,
    ProviderSession,
)
from tether_connector_runtime.renewing_session import RenewingSession
from tether_connector_runtime.retry import AuthRevokedError
from tether_connector_runtime.secrets import TokenCipher
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_contracts.connections import ConnectionOut
from tether_contracts.people import DEFAULT_TIME_ZONE

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConnectionOwner:
    """Who connects an account (the gateway's user id) and their IANA time zone; None: not
    said (an older gateway), which keeps what the connection had (UTC for a new one)."""

    owner_id: str | None = None
    time_zone: str | None = None

    def values(self) -> dict[str, str]:
        said = {"owner_id": self.owner_id, "time_zone": self.time_zone}
        return {k: v for k, v in said.items() if v is not None}


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class ConnectionBroken(DomainError):
    """The provider refuses this connection's credentials: a person must reconnect."""

    status_code = 409
    code = "connection_broken"


class Connections:
    def __init__(
        self,
        adapter: ProviderAdapter,
        repo: ConnectorRepository,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        *,
        renewal_margin: timedelta = timedelta(seconds=300),
    ) -> None:
        """``renewal_margin``: how long before its expiry a token is renewed."""
        self.adapter = adapter
        self._repo = repo
        self._sessions = sessions
        self._cipher = cipher
        # The pipeline's clock (a test's manual one): when a token counts as expiring.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        # Called with a connection's id when its account is connected again (the pipeline
        # resumes its work: pipeline/health.py); set by the app factory.
        self.repaired: Callable[[str], Awaitable[None]] | None = None
        # Called with a connection's id and why when the provider refuses to renew its
        # credentials (the connection breaks: pipeline/health.py); set by the app factory.
        self.refused: Callable[[str, str], Awaitable[None]] | None = None
        self.renewer: CredentialRenewer | None = None
        if isinstance(adapter, CredentialRenewal):
            self.renewer = CredentialRenewer(
                adapter.provider, adapter, repo, sessions, cipher, renewal_margin, self._now
            )
            self.renewer.refused = self._refused

    def _now(self) -> datetime:
        return self.now()

    async def _refused(self, connection_id: str, reason: str) -> None:
        if self.refused is not None:
            await self.refused(connection_id, reason)

    def out(self, row: Any) -> ConnectionOut:
        return ConnectionOut(
            id=row.id,
            provider=self.adapter.provider,
            account_id=row.account_id,
            account_name=row.account_name,
            status="broken" if row.status == "broken" else "active",
            error=row.error if row.status == "broken" else None,
            broken_since=row.broken_since if row.status == "broken" else None,
            time_zone=row.time_zone or DEFAULT_TIME_ZONE,
            delivery=row.delivery,
            created_at=row.created_at,
        )

    async def store(
        self, tenant_id: str, account: Account, owner: ConnectionOwner | None = None
    ) -> ConnectionOut:
        """Keep a checked account: a new connection, or the repair of this tenant's existing
        connection to the same account (the person connecting it again becomes its owner)."""
        said = (owner or ConnectionOwner()).values()
        async with transaction(self._sessions) as session:
            known = await self._repo.connection_of_account(session, tenant_id, account.account_id)
            secret = self._cipher.encrypt(account.secret)
            if known is not None:
                await self._repo.update_connection(
                    session,
                    known.id,
                    token_encrypted=secret,
                    expires_at=account.expires_at,
                    delivery=account.delivery,
                    account_name=account.account_name,
                    status="active",
                    error=None,
                    broken_since=None,
                    **said,
                )
                connection_id = str(known.id)
                log.info("connection_repaired", connection_id=connection_id)
            else:
                connection_id = f"{self.adapter.provider}_{secrets.token_hex(12)}"
                await self._repo.add_connection(
                    session,
                    id=connection_id,
                    tenant_id=tenant_id,
                    account_id=account.account_id,
                    account_name=account.account_name,
                    token_encrypted=secret,
                    expires_at=account.expires_at,
                    delivery=account.delivery,
                    status="active",
                    **said,
                )
            row = await self._repo.connection(session, connection_id)
        if known is not None and self.repaired is not None:
            # Connected again, broken or not: the provider may have dropped its webhooks (a
            # revoked grant, a provider restarted empty); they are registered anew.
            await self.repaired(connection_id)
        return self.out(row)

    async def of_tenant_all(self, tenant_id: str) -> list[ConnectionOut]:
        async with transaction(self._sessions) as session:
            rows = await self._repo.connections_of(session, tenant_id)
        return [self.out(r) for r in rows]

    async def of_tenant(self, tenant_id: str, connection_id: str) -> Any:
        """The connection's row, if it is this tenant's: another tenant's is simply not found."""
        async with transaction(self._sessions) as session:
            row = await self._repo.connection(session, connection_id)
        if row is None or row.tenant_id != tenant_id:
            raise ConnectionNotFound(f"no {self.adapter.provider} connection {connection_id}")
        return row

    def encrypt(self, secret: str) -> str:
        return self._cipher.encrypt(secret)

    def decrypt(self, ciphertext: str) -> str:
        return self._cipher.decrypt(ciphertext)

    @staticmethod
    def owner_of(row: Any, written_in: str | None = None) -> Owner:
        """The owner of a connection row: their zone now and, for one link, the zone its
        item's due was last written in (``written_in``, an IANA name; None: not known)."""
        return Owner(
            zone=time_zone(row.time_zone),
            written_in=time_zone(written_in) if written_in else None,
        )

    def session_of(self, row: Any, written_in: str | None = None) -> ProviderSession:
        """The provider session of a connection row (its secret decrypted, its owner's zone;
        ``written_in``: see :meth:`owner_of`)."""
        return self._session(self._cipher.decrypt(row.token_encrypted), row, written_in)

    def _session(self, secret: str, row: Any, written_in: str | None = None) -> ProviderSession:
        return self.adapter.session(secret, self.owner_of(row, written_in))

    async def set_owner_zone(self, tenant_id: str, owner_id: str, zone: str) -> int:
        """A person's zone changed: every connection they made in the tenant follows it.
        Returns how many."""
        async with transaction(self._sessions) as session:
            return await self._repo.set_owner_zone(session, tenant_id, owner_id, zone)

    async def opened(
        self, session: AsyncSession, connection_id: str, *, written_in: str | None = None
    ) -> tuple[Any, ProviderSession]:
        """A connection's row and provider session, inside the caller's transaction (which
        must not have written yet on SQLite: a renewal commits in a transaction of its own
        first); ``written_in``: the link's ``due_zone``, when the session reads that link's
        item. ``ConnectionNotFound``; ``AuthRevokedError`` when the connection is broken or its
        renewal refused; ``RetryableProviderError`` when a renewal that was due failed for
        now."""
        row = await self._repo.connection(session, connection_id)
        return await self.usable(row, connection_id, written_in=written_in)

    async def current(self, connection_id: str) -> tuple[Any, ProviderSession]:
        """:meth:`opened` in a transaction of its own."""
        async with transaction(self._sessions) as session:
            row = await self._repo.connection(session, connection_id)
        return await self.usable(row, connection_id)

    async def usable(
        self, row: Any, connection_id: str, *, written_in: str | None = None
    ) -> tuple[Any, ProviderSession]:
        """The row (as renewed, if its token was expiring) and a session over it."""
        self._check(row, connection_id)
        if self.renewer is None or row.expires_at is None:
            # A secret that does not expire (an Asana personal access token) has nothing to
            # renew: a refusal goes straight to the grant check.
            return row, self.session_of(row, written_in)
        row = await self.renewer.fresh(row)
        self._check(row, connection_id)  # deleted or broken while it waited
        secret = self._cipher.decrypt(row.token_encrypted)
        renewed = partial(self._renewed, row, written_in)
        return row, RenewingSession(self._session(secret, row, written_in), secret, renewed)

    async def _renewed(
        self, row: Any, written_in: str | None, refused_secret: str
    ) -> ProviderSession:
        assert self.renewer is not None
        renewed = await self.renewer.renew_refused(row.id, refused_secret)
        self._check(renewed, row.id)
        return self.session_of(renewed, written_in)

    def _check(self, row: Any, connection_id: str) -> None:
        if row is None:
            raise ConnectionNotFound(f"no {self.adapter.provider} connection {connection_id}")
        if row.status == "broken":
            # Asking again would only be refused again (and count against rate limits).
            raise AuthRevokedError(
                f"the {self.adapter.provider} connection {connection_id} is broken "
                f"({row.error}); reconnect the account",
                status=401,
            )

    async def mark_broken(self, session: AsyncSession, connection_id: str, reason: str) -> bool:
        """The provider refused the credentials: say so on the connection, in the caller's
        transaction; False when it was broken already (or is gone)."""
        row = await self._repo.connection(session, connection_id)
        if row is None or row.status == "broken":
            return False
        await self._repo.update_connection(
            session,
            connection_id,
            status="broken",
            error=reason[:2000],
            broken_since=datetime.now(UTC),
        )
        return True
