"""Webhook registration: one Trello webhook per (connection, board), made on first export."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from tether_connector_runtime.retry import PermanentProviderError
from tether_connector_runtime.store.repository import ConnectorRepository
from trello_connector.client import TrelloClient
from trello_connector.config import TrelloSettings


async def ensure_board_webhook(
    session: AsyncSession,
    repo: ConnectorRepository,
    client: TrelloClient,
    settings: TrelloSettings,
    connection_id: str,
    board_id: str,
) -> None:
    if await repo.webhook_for(session, connection_id, board_id) is not None:
        return
    try:
        # Trello first sends HEAD to the callback and needs a 200 (webhook.py answers it).
        hook = await client.create_webhook(
            callback_url=settings.webhook_url,
            model_id=board_id,
            description=f"Tether sync for board {board_id}",
        )
        external_id = str(hook["id"])
    except PermanentProviderError as exc:
        if "already exists" not in str(exc):
            raise
        # Registered before our record of it was written (a crash in between): adopt it.
        existing = [
            h
            for h in await client.token_webhooks()
            if h.get("idModel") == board_id and h.get("callbackURL") == settings.webhook_url
        ]
        if not existing:
            raise
        external_id = str(existing[0]["id"])
    await repo.add_webhook(
        session,
        id=secrets.token_hex(12),
        connection_id=connection_id,
        model_id=board_id,
        external_webhook_id=external_id,
        callback_url=settings.webhook_url,
    )
