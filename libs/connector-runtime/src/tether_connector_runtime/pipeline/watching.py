"""Making sure the provider tells us about a container's changes: its webhook registered once
per connection and container (an export's container, or the one an item moved to), and
refreshed before the provider drops it where webhooks expire.

The webhook's row is written (and committed) before the provider is asked, with the URL it
will be registered under: a dialect with a URL per webhook (``per_webhook_url``) gets a new
random key at the end of it, which names the webhook when its deliveries arrive. A row whose
registration has not completed (no provider id yet) is registered again, under the same URL,
so a provider that kept it is asked to adopt it. A registered webhook that expires (Jira's
dynamic webhooks: 30 days) is asked for again once less than ``webhook_renewal_margin`` is
left: the adapter refreshes it, or registers it anew if the provider no longer has it. No
transaction is open across the provider's call: a provider that calls the URL back while
registering (Asana's handshake) is answered by the same process, and on SQLite an open write
would hold every other writer.

A connection that polls (``delivery == "polling"``: the provider lets its account register
no webhook) is asked for none; reconciliation alone brings its changes.
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError

log = structlog.get_logger(__name__)


async def ensure_webhook(p: Pipeline, connection_id: str, container_id: str) -> None:
    """Make sure the container's changes are delivered to us; a failure is logged and
    reconciliation (which also polls meanwhile) tries again."""
    hook = await _planned(p, connection_id, container_id)
    if hook is None:
        return
    try:
        _, provider = await p.connections.current(connection_id)
        registered = await provider.ensure_webhook(container_id, hook.callback_url)
    except (RetryableProviderError, PermanentProviderError) as exc:
        log.warning("webhook_not_registered", container_id=container_id, error=str(exc))
        return
    secret = p.connections.encrypt(registered.secret) if registered.secret else None
    async with transaction(p.sessions) as session:
        await p.repo.webhook_registered(
            session, hook.id, registered.webhook_id, secret, registered.expires_at
        )
    if hook.external_webhook_id is not None:
        log.info("webhook_renewed", container_id=container_id, expires_at=registered.expires_at)


def _due(p: Pipeline, hook: Any) -> bool:
    """Whether the row needs the provider: not registered yet, or expiring within the margin."""
    if hook.external_webhook_id is None:
        return True
    return hook.expires_at is not None and hook.expires_at - p.now() < p.webhook_renewal_margin


async def _planned(p: Pipeline, connection_id: str, container_id: str) -> Any | None:
    """The webhook's row to register or refresh (written now if there was none); None when
    nothing is to be done (registered and not expiring soon, or the connection polls)."""
    async with transaction(p.sessions) as session:
        connection = await p.repo.connection(session, connection_id)
        if connection is None or connection.delivery == "polling":
            return None
        known = await p.repo.webhook_for(session, connection_id, container_id)
        if known is None:
            url, key = p.adapter.webhook_url(), None
            if p.adapter.webhooks.per_webhook_url:
                key = secrets.token_urlsafe(24)
                url = f"{url.rstrip('/')}/{key}"
            # Lost to a concurrent registration of the same webhook: theirs is the row.
            await p.repo.add_webhook(
                session,
                id=f"{connection_id}:{container_id}"[:64],
                connection_id=connection_id,
                model_id=container_id,
                callback_url=url,
                hook_key=key,
            )
            known = await p.repo.webhook_for(session, connection_id, container_id)
    return known if known is not None and _due(p, known) else None
