"""Credentials that expire (OAuth 2 access tokens): renewed before they do, once at a time.

A connection's row keeps when its token stops working (``expires_at``). Whoever opens a
session for a connection whose token expires within the margin renews it first through the
adapter's :class:`~tether_connector_runtime.port.CredentialRenewal`:

- one renewal per connection at a time: an asyncio lock per connection in the process, and the
  connection's row locked (``SELECT ... FOR UPDATE``) across the provider's call on PostgreSQL,
  so replicas queue too; SQLite has no row locks, and embedded mode is one process;
- the row is read again once both are held: another holder may have renewed meanwhile, and
  then the provider is not asked again;
- the new secret and expiry are committed before anyone uses them. A provider that rotates
  refresh tokens (Jira) invalidates the old one as it answers: used before it is stored, a
  crash would leave us with only the invalidated one.

A renewal the provider refuses for good (``AuthRevokedError``) breaks the connection through
the health path (pipeline/health.py: links paused, visible); a transient failure propagates
as any provider error does (the caller's work parks and is retried), unless the stored token
still works, which is then used as it is.

A crash after the provider renewed but before our commit leaves the old secret stored; the
next renewal offers it again. Asana keeps a refresh token valid across refreshes, so that
simply works; a provider that rotates them must accept the old one within its leeway
(Atlassian: 10 minutes) or answer ``AuthRevokedError``, which asks the person to reconnect
(port.CredentialRenewal).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_connector_runtime.port import CredentialRenewal
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_connector_runtime.secrets import TokenCipher
from tether_connector_runtime.store.repository import ConnectorRepository

log = structlog.get_logger(__name__)

RENEWALS = Counter(
    "tether_connector_credential_renewals_total",
    "Renewals of expiring credentials asked of the provider",
    ["provider", "outcome"],  # outcome: renewed | refused | failed
)

Refused = Callable[[str, str], Awaitable[None]]


class ConnectionLocks:
    """One asyncio lock per connection id, and how many wait for each (a test's barrier: it
    can tell that every opener is queued before it lets the first one finish)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._changed = asyncio.Event()

    @asynccontextmanager
    async def held(self, connection_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        self._count(connection_id, +1)
        try:
            await lock.acquire()
        finally:
            self._count(connection_id, -1)
        try:
            yield
        finally:
            lock.release()

    def waiting(self, connection_id: str) -> int:
        return self._waiting.get(connection_id, 0)

    async def until_waiting(self, connection_id: str, count: int) -> None:
        """Return once ``count`` callers wait for the connection's lock."""
        while self.waiting(connection_id) < count:
            self._changed.clear()
            await self._changed.wait()

    def _count(self, connection_id: str, step: int) -> None:
        self._waiting[connection_id] = self.waiting(connection_id) + step
        self._changed.set()


class CredentialRenewer:
    """Renews a connection's credentials through ``renewal``; ``refused(connection_id,
    reason)`` breaks the connection (set by the app factory); ``now`` is the pipeline's
    clock; ``margin``: how long before expiry a token counts as expiring."""

    def __init__(
        self,
        provider: str,
        renewal: CredentialRenewal,
        repo: ConnectorRepository,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        margin: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        self._provider = provider
        self._renewal = renewal
        self._repo = repo
        self._sessions = sessions
        self._cipher = cipher
        self._margin = margin
        self._now = now
        self.locks = ConnectionLocks()
        self.refused: Refused | None = None

    def expiring(self, row: Any) -> bool:
        """Whether the row's token expires within the margin (or has)."""
        expires: datetime | None = row.expires_at
        return expires is not None and expires - self._margin <= self._now()

    async def fresh(self, row: Any) -> Any:
        """The connection's row with a token that is not expiring: ``row`` itself, or the row
        as renewed (by this call or by another holder meanwhile)."""
        if not self.expiring(row):
            return row
        try:
            return await self.renew(row.id, unless=lambda current: not self.expiring(current))
        except RetryableProviderError:
            if row.expires_at > self._now():
                return row  # renewed early, it still works: the next opener tries again
            raise

    async def renew_refused(self, connection_id: str, refused_secret: str) -> Any:
        """The provider refused ``refused_secret`` before it expired: the row with a renewed
        token (unless another holder replaced that secret meanwhile)."""
        return await self.renew(
            connection_id,
            unless=lambda current: self._cipher.decrypt(current.token_encrypted) != refused_secret,
        )

    async def renew(self, connection_id: str, *, unless: Callable[[Any], bool]) -> Any:
        """Renew the connection's credentials unless ``unless(row)`` says the row, read again
        once this caller holds the locks, needs none. Returns the row as it is then (None:
        deleted meanwhile; broken: not renewed). ``AuthRevokedError`` when the provider
        refuses for good (the connection is broken first); ``RetryableProviderError`` when it
        may agree later."""
        async with self.locks.held(connection_id):
            try:
                async with transaction(self._sessions) as session:
                    row = await self._repo.connection(session, connection_id, for_update=True)
                    if row is None or row.status == "broken" or unless(row):
                        return row
                    return await self._renewed(session, row)
            except RetryableProviderError as exc:
                RENEWALS.labels(self._provider, "failed").inc()
                log.warning("credentials_not_renewed", connection_id=connection_id, error=str(exc))
                raise
            except PermanentProviderError as exc:
                # Refused for good, whatever the provider's words (a revoked grant, a request
                # it will never take): the connection breaks visibly rather than every open
                # failing in silence. The row lock is released by now: breaking it updates it.
                RENEWALS.labels(self._provider, "refused").inc()
                if self.refused is not None:
                    await self.refused(connection_id, f"the token could not be renewed: {exc}")
                if isinstance(exc, AuthRevokedError):
                    raise
                raise AuthRevokedError(str(exc), status=exc.status) from exc

    async def _renewed(self, session: AsyncSession, row: Any) -> Any:
        account = await self._renewal.refresh(self._cipher.decrypt(row.token_encrypted))
        await self._repo.update_connection(
            session,
            row.id,
            token_encrypted=self._cipher.encrypt(account.secret),
            expires_at=account.expires_at,
        )
        RENEWALS.labels(self._provider, "renewed").inc()
        log.info("credentials_renewed", connection_id=row.id, expires_at=account.expires_at)
        return await self._repo.connection(session, row.id)
