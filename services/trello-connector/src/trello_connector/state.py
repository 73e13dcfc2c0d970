"""What the Trello connector's lifespan builds and its handlers use: no module globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import httpx
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.secrets import TokenCipher
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_events.bus import EventBus
from trello_connector.client import TrelloClient
from trello_connector.config import TrelloSettings
from trello_connector.sync import TrelloSync


@dataclass
class TrelloState:
    settings: TrelloSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    repo: ConnectorRepository
    bus: EventBus
    http: httpx.AsyncClient
    cipher: TokenCipher
    limiter: RateLimiter
    sync: TrelloSync

    def client(self, token: str) -> TrelloClient:
        return TrelloClient(
            self.http,
            api_url=self.settings.api_url,
            key=self.settings.api_key,
            token=token,
            limiter=self.limiter,
        )


def trello_state(request: Request) -> TrelloState:
    return cast(TrelloState, request.app.state.trello)
