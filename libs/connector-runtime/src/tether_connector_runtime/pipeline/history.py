"""Where a connection reads a container's history of changes from (reconcile.py's cursor).

Reconciliation reads each container's changes since a cursor kept per connection and
container. A container it has no cursor for yet gets a full look at every linked item
instead, which repairs a missed webhook for a provider whose item, read, shows the edit. It
does not for a provider whose items are written unread (port.UnreadWrites): a person's edit
our write overwrote is no longer on the item, only in the history. For such a provider the
history is started when the connection first exports into (or follows an item into) the
container, so a webhook dropped before the first reconciliation is repaired from it.
"""

from __future__ import annotations

import hashlib

import structlog

from tether_common.db import transaction
from tether_connector_runtime.pipeline.context import Pipeline
from tether_connector_runtime.port import ProviderSession, UnreadWrites
from tether_connector_runtime.retry import ProviderError

log = structlog.get_logger(__name__)

# The cursors table keys rows by a string of at most 128 characters.
_KEY_LENGTH = 128


def cursor_key(connection_id: str, container_id: str) -> str:
    """The key of a connection's cursor on a container: ``<connection>:<container>``, the
    container hashed (SHA-256, hex) when the pair would not fit the cursors table's key."""
    key = f"{connection_id}:{container_id}"
    if len(key) <= _KEY_LENGTH:
        return key
    return f"{connection_id}:{hashlib.sha256(container_id.encode()).hexdigest()}"


async def start(
    p: Pipeline, connection_id: str, container_id: str, provider: ProviderSession | None = None
) -> None:
    """Read the container's history from now on, where the connection reads none yet and its
    items are written unread (one provider call, once per connection and container).
    ``provider``: the connection's session, if the caller has it open. A failure is logged:
    reconciliation's first pass then looks at every linked item."""
    if provider is not None and not isinstance(provider, UnreadWrites):
        return
    key = cursor_key(connection_id, container_id)
    async with transaction(p.sessions) as session:
        if await p.repo.cursor(session, key) is not None:
            return
        if provider is None:
            _, provider = await p.connections.opened(session, connection_id)
    if not isinstance(provider, UnreadWrites):
        return
    try:
        changes = await provider.changes_since(container_id, None)
    except ProviderError as exc:
        log.warning("history_not_started", container_id=container_id, error=str(exc))
        return
    if changes.cursor is None:
        return
    async with transaction(p.sessions) as session:
        if await p.repo.cursor(session, key) is None:  # a reconciliation may have begun
            await p.repo.save_cursor(session, key, changes.cursor)
