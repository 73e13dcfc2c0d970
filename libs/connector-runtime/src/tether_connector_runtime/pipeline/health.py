"""A connection the provider refuses (a revoked or expired grant), and its repair.

A 401 marks the connection ``broken`` (with why and since when) and pauses its links where
people look (``paused``, reason ``connection_broken``, in core's links API). From then on
nothing is asked of the provider for it: ``Connections.opened`` refuses, so writes and
exports park on their links, and the retrier passes over them (no attempt counts against
their time limit). Nothing waiting is dropped.

Connecting the same account again (broken or not) repairs the connection (same id): its
parked work is due at once with a fresh time limit; its webhooks are registered again by the
next reconciliation (the provider may have dropped them: Trello does with a revoked grant),
which also brings the items' edits made meanwhile; and its links say ``active`` again, with
the clock their items reflect, so core re-sends the tasks edited meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline import announce
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.retry import AuthRevokedError, ProviderError

log = structlog.get_logger(__name__)


async def grant_refused(p: Pipeline, connection_id: str, reason: str) -> bool:
    """A call for the connection was answered 401: whether the credentials themselves are
    refused (then the connection is broken, see :func:`connection_refused`), or only the one
    item or container the call was about is out of the account's reach (False).

    Provider errors other than a refusal while checking leave the question open: taken as
    refused for now would break a working connection, so False (the caller's work parks and
    is retried)."""
    try:
        async with transaction(p.sessions) as session:
            _, provider = await p.connections.opened(session, connection_id)
    except AuthRevokedError:
        return True  # broken already
    try:
        await provider.check_grant()
    except AuthRevokedError as exc:
        await connection_refused(p, connection_id, str(exc) or reason)
        return True
    except ProviderError as exc:
        log.warning("grant_check_failed", connection_id=connection_id, error=str(exc))
    return False


async def connection_refused(p: Pipeline, connection_id: str, reason: str) -> None:
    """The provider refused the connection's credentials: broken, and its links paused."""
    async with transaction(p.sessions) as session:
        if not await p.connections.mark_broken(session, connection_id, reason):
            return  # already broken: its links were told
        for link in await p.repo.links_of_connection(session, connection_id, ("active",)):
            await announce.link_changed(
                p,
                session,
                link,
                "paused",
                reason="connection_broken",
                error=f"the {p.provider} connection is broken ({reason}); reconnect the "
                "account to resume",
            )
    p.outbox.committed()
    log.warning("connection_broken", connection_id=connection_id, reason=reason)


async def connection_repaired(p: Pipeline, connection_id: str) -> None:
    """The account was connected again: resume everything the break held."""
    now = p.now()
    async with transaction(p.sessions) as session:
        until = now + timedelta(seconds=p.retry.limit)
        await p.repo.retry_parked_now(session, connection_id, now, until)
        await p.repo.forget_webhooks_of(session, connection_id)
        for link in await p.repo.links_of_connection(session, connection_id, ("active",)):
            if link.state is not None and link.parked is None:
                # A refused write stands through the break (it is the provider's word on
                # a value, not on the credentials).
                await announce.link_changed(
                    p,
                    session,
                    link,
                    "active",
                    synced_clock=link.state.synced_clock,
                    error=link.refusal,
                )
    p.outbox.committed()
    log.info("connection_resumed", connection_id=connection_id)
