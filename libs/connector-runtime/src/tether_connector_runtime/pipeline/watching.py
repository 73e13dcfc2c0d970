"""Making sure the provider tells us about a container's changes: its webhook registered once
per connection and container (an export's container, or the one an item moved to)."""

from __future__ import annotations

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError

log = structlog.get_logger(__name__)


async def ensure_webhook(p: Pipeline, connection_id: str, container_id: str) -> None:
    """Make sure the container's changes are delivered to us; a failure is logged and
    reconciliation (which also polls meanwhile) tries again."""
    async with transaction(p.sessions) as session:
        if await p.repo.webhook_for(session, connection_id, container_id) is not None:
            return
        _, provider = await p.connections.opened(session, connection_id)
    try:
        hook = await provider.ensure_webhook(container_id, p.adapter.webhook_url())
    except (RetryableProviderError, PermanentProviderError) as exc:
        log.warning("webhook_not_registered", container_id=container_id, error=str(exc))
        return
    async with transaction(p.sessions) as session:
        if await p.repo.webhook_for(session, connection_id, container_id) is None:
            await p.repo.add_webhook(
                session,
                id=f"{connection_id}:{container_id}"[:64],
                connection_id=connection_id,
                model_id=container_id,
                external_webhook_id=hook.webhook_id,
                callback_url=p.adapter.webhook_url(),
            )
