"""Webhook intake at ``/webhooks/<provider>``: size limit -> handshake -> signature (raw
bytes) -> parse -> dedupe by delivery id -> the webhook must be ours -> observe each item named.

The order and the answers are the runtime's (webhooks.webhook_router); the adapter's
:class:`WebhookDialect` says how its provider signs, shapes and names deliveries. A delivery is
recorded as seen only once handled, so a provider's retry of a failed one is processed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_common.errors import DomainError
from tether_connector_runtime.api.errors import ProviderUnavailable
from tether_connector_runtime.pipeline import observations
from tether_connector_runtime.retry import RetryableProviderError
from tether_connector_runtime.state import connector_state
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.webhooks import webhook_router

MAX_BODY_BYTES = 1_000_000


class UnknownWebhook(DomainError):
    # Trello deletes a webhook that answers 410: only for a webhook we really don't know.
    status_code = 410
    code = "unknown_webhook"


class StoredDeliveryLog:
    """Delivery ids in the connector's database: every replica and restart sees them."""

    def __init__(self, repo: ConnectorRepository, sessions: async_sessionmaker[AsyncSession]):
        self._repo = repo
        self._sessions = sessions

    async def seen(self, delivery_id: str) -> bool:
        async with transaction(self._sessions) as session:
            return await self._repo.delivery_seen(session, delivery_id)

    async def record(self, delivery_id: str) -> None:
        async with transaction(self._sessions) as session:
            await self._repo.first_delivery(session, delivery_id)


def intake_router(provider: str) -> APIRouter:
    """The route; the pipeline it feeds is the app's (built when the app starts)."""

    def verify(request: Request, body: bytes) -> None:
        adapter = connector_state(request).adapter
        adapter.webhooks.verify(body, request.headers, adapter.webhook_url(), None)

    def delivery_id(request: Request, body: bytes) -> str:
        adapter = connector_state(request).adapter
        return f"{provider}:{adapter.webhooks.parse(body).delivery_id}"

    def seen(request: Request) -> StoredDeliveryLog:
        p = connector_state(request).pipeline
        return StoredDeliveryLog(p.repo, p.sessions)

    async def handle(body: bytes, request: Request) -> None:
        p = connector_state(request).pipeline
        delivery = p.adapter.webhooks.parse(body)
        async with transaction(p.sessions) as session:
            if not await p.repo.webhooks_on(session, delivery.model_id):
                raise UnknownWebhook(f"no webhook is registered for model {delivery.model_id}")
        try:
            for notice in delivery.notices:
                await observations.observe(p, notice)
        except RetryableProviderError as exc:
            # The provider retries a failed delivery; reconciliation repairs it if those fail.
            raise ProviderUnavailable(f"could not read the item: {exc}") from exc

    async def handshake(request: Request) -> Response | None:
        return await connector_state(request).adapter.webhooks.handshake(request)

    return webhook_router(
        f"/webhooks/{provider}",
        verify=verify,
        delivery_id=delivery_id,
        handle=handle,
        seen=seen,
        max_body_bytes=MAX_BODY_BYTES,
        handshake=handshake,
    )
