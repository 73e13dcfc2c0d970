"""Disconnecting an account: the connection and what hangs on it go, then the grant is revoked.

In one transaction: every link of the connection still synced says ``unlinked`` (its items
stay on the provider as they are; core keeps its tasks), its webhooks and the connection row
are deleted. Only then, for an adapter that can (``port.CredentialRenewal``), the grant is
revoked at the provider: best effort, since our side is already gone and a person asked for
exactly that; a failure is logged and counted, never an error to the person.
"""

from __future__ import annotations

from typing import Any

import structlog
from prometheus_client import Counter

from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import CredentialRenewal
from tether_connector_runtime.retry import ProviderError

log = structlog.get_logger(__name__)

REVOCATIONS = Counter(
    "tether_connector_revocations_total",
    "Grants revoked at the provider when their connection was deleted",
    ["provider", "outcome"],  # outcome: revoked | failed
)

# Links whose sync ends with the connection (the others ended already).
_SYNCED = ("pending", "active", "archiving", "paused", "restoring")


async def disconnect(p: Pipeline, row: Any) -> None:
    """Delete the connection ``row`` names and everything synced through it; then revoke its
    grant at the provider (best effort)."""
    secret = p.connections.decrypt(row.token_encrypted)
    async with transaction(p.sessions) as session:
        for link in await p.repo.links_of_connection(session, row.id, _SYNCED):
            await p.repo.set_link_status(session, link.link_id, "unlinked")
            await p.repo.unpark(session, link.link_id)
            await announce.link_changed(
                p, session, link, "unlinked", error=f"the {p.provider} connection was removed"
            )
        await p.repo.forget_webhooks_of(session, row.id)
        await p.repo.remove_connection(session, row.id)
    p.outbox.committed()
    log.info("connection_removed", connection_id=row.id)
    if isinstance(p.adapter, CredentialRenewal):
        await _revoke(p, p.adapter, row.id, secret)


async def _revoke(p: Pipeline, renewal: CredentialRenewal, connection_id: str, secret: str) -> None:
    try:
        await renewal.revoke(secret)
    except Exception as exc:
        if not isinstance(exc, ProviderError):
            log.exception("grant_revoke_crashed", connection_id=connection_id)
        REVOCATIONS.labels(p.provider, "failed").inc()
        log.warning("grant_not_revoked", connection_id=connection_id, error=str(exc))
        return
    REVOCATIONS.labels(p.provider, "revoked").inc()
    log.info("grant_revoked", connection_id=connection_id)
