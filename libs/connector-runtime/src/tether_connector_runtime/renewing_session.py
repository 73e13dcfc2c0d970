"""A provider session that renews its credentials once when the provider refuses them early.

An access token can stop working before the expiry we keep for it (revoked and reissued by
the provider, a clock apart, a grant changed). A call answered ``AuthRevokedError`` is tried
once more with renewed credentials; a second refusal propagates, and the pipeline's grant
check (pipeline/health.py) decides whether the grant itself is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from tether_connector_runtime.port import (
    ChangesSince,
    Placement,
    ProviderItem,
    ProviderSession,
    RegisteredWebhook,
)
from tether_connector_runtime.retry import AuthRevokedError
from tether_contracts.connections import Container
from tether_sync import FieldName, FieldValue, TaskFields

T = TypeVar("T")

# Given the secret the provider refused, a session over renewed credentials
# (``AuthRevokedError`` when the renewal is refused too: the connection is broken then).
Renew = Callable[[str], Awaitable[ProviderSession]]


class RenewingSession:
    """``inner``: the session over ``secret``; ``renew``: how to get one over renewed
    credentials. Renews at most once in its life (sessions live for one piece of work)."""

    def __init__(self, inner: ProviderSession, secret: str, renew: Renew) -> None:
        self._inner = inner
        self._secret = secret
        self._renew = renew
        self._renewed = False

    async def _call(self, call: Callable[[ProviderSession], Awaitable[T]]) -> T:
        try:
            return await call(self._inner)
        except AuthRevokedError:
            if self._renewed:
                raise
            self._renewed = True
            self._inner = await self._renew(self._secret)
        return await call(self._inner)

    async def targets(self) -> list[Container]:
        return await self._call(lambda s: s.targets())

    async def resolve(self, target: Mapping[str, str]) -> Placement:
        return await self._call(lambda s: s.resolve(target))

    async def place(self, place_id: str) -> Placement:
        return await self._call(lambda s: s.place(place_id))

    async def find_marked(self, placement: Placement, link_id: str) -> ProviderItem | None:
        return await self._call(lambda s: s.find_marked(placement, link_id))

    async def create(self, placement: Placement, fields: TaskFields, link_id: str) -> ProviderItem:
        return await self._call(lambda s: s.create(placement, fields, link_id))

    async def read(self, external_id: str) -> ProviderItem | None:
        return await self._call(lambda s: s.read(external_id))

    async def update(
        self,
        item: ProviderItem,
        changes: Mapping[FieldName, FieldValue],
        link_id: str,
        move_to: str | None,
    ) -> ProviderItem | None:
        return await self._call(lambda s: s.update(item, changes, link_id, move_to))

    async def archive(self, external_id: str) -> None:
        await self._call(lambda s: s.archive(external_id))

    async def restore(self, external_id: str) -> None:
        await self._call(lambda s: s.restore(external_id))

    async def check_grant(self) -> None:
        # The grant check is what decides after a renewed call was refused too: not renewed
        # again here.
        await self._inner.check_grant()

    async def ensure_webhook(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        return await self._call(lambda s: s.ensure_webhook(container_id, callback_url))

    async def changes_since(self, container_id: str, cursor: str | None) -> ChangesSince:
        return await self._call(lambda s: s.changes_since(container_id, cursor))
