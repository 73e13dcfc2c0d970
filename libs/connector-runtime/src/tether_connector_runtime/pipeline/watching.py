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

Only one caller at a time asks the provider for a given webhook: exports in flight at once to
one container (tasks of one process, or replicas on one database) would otherwise each find
the row unregistered and each register a webhook, leaving the provider with several and the
row with the secret of whichever answered last. So the caller first claims the row (one
conditional UPDATE, ``claimed_until``); the others find it claimed and leave the webhook to
it. The claim is given back with the provider's answer or its failure; one whose holder
crashed runs out after ``webhook_claim_lease``, and the next export or reconciliation asks.

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
    hook = await _claimed(p, connection_id, container_id)
    if hook is None:
        return
    try:
        _, provider = await p.connections.current(connection_id)
        registered = await provider.ensure_webhook(container_id, hook.callback_url)
    except (RetryableProviderError, PermanentProviderError) as exc:
        log.warning("webhook_not_registered", container_id=container_id, error=str(exc))
        await _release(p, hook.id)
        return
    except Exception:
        await _release(p, hook.id)
        raise
    secret = p.connections.encrypt(registered.secret) if registered.secret else None
    async with transaction(p.sessions) as session:
        await p.repo.webhook_registered(
            session, hook.id, registered.webhook_id, secret, registered.expires_at
        )
    if hook.external_webhook_id is not None:
        log.info("webhook_renewed", container_id=container_id, expires_at=registered.expires_at)


async def _claimed(p: Pipeline, connection_id: str, container_id: str) -> Any | None:
    """The webhook's row (written now if there was none), claimed for registering or
    refreshing it; None when nothing is to be done (the connection polls, the webhook is
    registered and not expiring soon, or another caller holds the claim)."""
    async with transaction(p.sessions) as session:
        connection = await p.repo.connection(session, connection_id)
        if connection is None or connection.delivery == "polling":
            return None
        if await p.repo.webhook_for(session, connection_id, container_id) is None:
            url, key = p.adapter.webhook_url(), None
            if p.adapter.webhooks.per_webhook_url:
                key = secrets.token_urlsafe(24)
                url = f"{url.rstrip('/')}/{key}"
            # Lost to a concurrent insert of the same webhook: theirs is the row.
            await p.repo.add_webhook(
                session,
                id=f"{connection_id}:{container_id}"[:64],
                connection_id=connection_id,
                model_id=container_id,
                callback_url=url,
                hook_key=key,
            )
        now = p.now()
        return await p.repo.claim_webhook(
            session,
            connection_id,
            container_id,
            now=now,
            renew_before=now + p.webhook_renewal_margin,
            until=now + p.webhook_claim_lease,
        )


async def _release(p: Pipeline, webhook_id: str) -> None:
    async with transaction(p.sessions) as session:
        await p.repo.release_webhook(session, webhook_id)
