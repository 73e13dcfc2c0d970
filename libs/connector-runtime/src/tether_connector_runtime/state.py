"""What a connector's lifespan builds and its handlers use: typed state, no module globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_connector_runtime.connections import Connections
from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.port import ProviderAdapter
from tether_connector_runtime.settings import ConnectorSettings
from tether_events.bus import EventBus


@dataclass(frozen=True)
class ConnectorState:
    settings: ConnectorSettings
    engine: AsyncEngine
    bus: EventBus
    http: httpx.AsyncClient
    adapter: ProviderAdapter
    connections: Connections
    pipeline: Pipeline


def connector_state(request: Request) -> ConnectorState:
    return cast(ConnectorState, request.app.state.connector)


State = Annotated[ConnectorState, Depends(connector_state)]
