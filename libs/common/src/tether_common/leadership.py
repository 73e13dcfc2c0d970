"""Leadership among replicas: one of them does a job (publishing an outbox in order), the
others stand by and take over when its database session ends.

On PostgreSQL a session-level advisory lock decides; SQLite means one process, which always
leads.
"""

from __future__ import annotations

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger(__name__)


class Leadership:
    """A session-level ``pg_try_advisory_lock`` on a dedicated connection (PostgreSQL).

    Session-level rather than transaction-level: the lock must outlive the relay's short
    transactions, and PostgreSQL releases it by itself when the holder's connection dies.
    """

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        """``name``: what is led (one lock per name across every replica)."""
        self._engine = engine
        self._name = name
        self._connection: AsyncConnection | None = None
        self._held = False

    async def acquire(self) -> bool:
        """Whether this relay leads now; asks again each call while it does not."""
        if self._engine.dialect.name != "postgresql":
            return True
        if self._connection is None:
            self._connection = await self._engine.connect()
        if self._held:
            # A leader whose connection broke has lost the lock: fail here rather than
            # publish alongside the new leader.
            await self._connection.execute(text("SELECT 1"))
        else:
            result = await self._connection.execute(
                text("SELECT pg_try_advisory_lock(hashtext(:name))"), {"name": self._name}
            )
            self._held = bool(result.scalar_one())
            if self._held:
                log.info("leading", lock=self._name)
        # Commit so the lock connection never sits idle inside a transaction.
        await self._connection.commit()
        return self._held

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        held, self._held = self._held, False
        if connection is None:
            return
        try:
            if held:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": self._name}
                )
                await connection.commit()
            await connection.close()
        except Exception:
            # Never hand a possibly locked session back to the pool: closing it frees the lock.
            await connection.invalidate()
