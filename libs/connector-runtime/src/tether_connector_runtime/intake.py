"""Webhook intake at ``/webhooks/<provider>``: size limit -> handshake -> signature (raw
bytes) -> parse -> dedupe by delivery id -> the webhook must be ours -> observe each item named.

The order and the answers are the runtime's (webhooks.webhook_router); the adapter's
:class:`WebhookDialect` says how its provider signs, shapes and names deliveries. A delivery is
recorded as seen only once handled, so a provider's retry of a failed one is processed.

A dialect with a URL per webhook (``per_webhook_url``, Asana) is called back at
``/webhooks/<provider>/<hook_key>``: the key names the webhook, whose stored secret checks
the signature (an unknown key is a 404). The handshake is answered before the key is looked
up: the provider sends it while our registering call is still open, and it needs nothing of
ours.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tether_common.db import transaction
from tether_common.errors import DomainError, NotFound
from tether_connector_runtime.api.errors import ProviderUnavailable
from tether_connector_runtime.pipeline import observations, place_moves
from tether_connector_runtime.port import Delivery
from tether_connector_runtime.retry import RetryableProviderError
from tether_connector_runtime.state import connector_state
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.webhooks import webhook_router

MAX_BODY_BYTES = 1_000_000


class UnknownWebhook(DomainError):
    # Trello deletes a webhook that answers 410: only for a webhook we really don't know.
    status_code = 410
    code = "unknown_webhook"


class UnknownHookKey(NotFound):
    code = "unknown_webhook"


class WebhookRegistering(DomainError):
    # The provider calls before its registration call has answered us (Asana's first
    # heartbeat can): the webhook's secret is not stored yet. Providers retry a 503.
    status_code = 503
    code = "webhook_registering"


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
        return f"{provider}:{adapter.webhooks.parse(body, request.headers).delivery_id}"

    def seen(request: Request) -> StoredDeliveryLog:
        p = connector_state(request).pipeline
        return StoredDeliveryLog(p.repo, p.sessions)

    async def handle(body: bytes, request: Request) -> None:
        p = connector_state(request).pipeline
        delivery = p.adapter.webhooks.parse(body, request.headers)
        async with transaction(p.sessions) as session:
            if not await p.repo.webhooks_on(session, delivery.model_id):
                raise UnknownWebhook(f"no webhook is registered for model {delivery.model_id}")
        await _observe_all(delivery, request)

    async def handshake(request: Request) -> Response | None:
        return await connector_state(request).adapter.webhooks.handshake(request)

    async def verify_keyed(request: Request, body: bytes) -> None:
        p = connector_state(request).pipeline
        key = request.path_params["hook_key"]
        async with transaction(p.sessions) as session:
            hook = await p.repo.webhook_by_hook_key(session, key)
        if hook is None:
            raise UnknownHookKey(f"no {provider} webhook has the key {key}")
        if hook.external_webhook_id is None:
            raise WebhookRegistering(f"the {provider} webhook {key} is being registered")
        sealed = hook.secret_encrypted
        secret = p.connections.decrypt(sealed) if sealed is not None else None
        p.adapter.webhooks.verify(body, request.headers, hook.callback_url, secret)

    async def handle_keyed(body: bytes, request: Request) -> None:
        # The key named a webhook of ours: no need to know it by the delivery's model.
        await _observe_all(
            connector_state(request).pipeline.adapter.webhooks.parse(body, request.headers), request
        )

    router = webhook_router(
        f"/webhooks/{provider}",
        verify=verify,
        delivery_id=delivery_id,
        handle=handle,
        seen=seen,
        max_body_bytes=MAX_BODY_BYTES,
        handshake=handshake,
    )
    router.include_router(
        webhook_router(
            f"/webhooks/{provider}/{{hook_key}}",
            verify=verify_keyed,
            delivery_id=delivery_id,
            handle=handle_keyed,
            seen=seen,
            max_body_bytes=MAX_BODY_BYTES,
            handshake=handshake,
        )
    )
    return router


async def _observe_all(delivery: Delivery, request: Request) -> None:
    p = connector_state(request).pipeline
    try:
        for move in delivery.places_moved:
            await place_moves.place_moved(p, move)
        for notice in delivery.notices:
            await observations.observe(p, notice)
    except RetryableProviderError as exc:
        # The provider retries a failed delivery; reconciliation repairs it if those fail.
        raise ProviderUnavailable(f"could not read the item: {exc}") from exc
