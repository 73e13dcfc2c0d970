"""What the lifespan builds and hands to request handlers: no module globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api_gateway.config import GatewaySettings
from api_gateway.connections.client import ConnectorClient
from api_gateway.tasks.client import TaskCoreClient
from tether_common.read_replica import ReadRouting


@dataclass(frozen=True, slots=True)
class GatewayState:
    settings: GatewaySettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    task_core: TaskCoreClient
    connectors: ConnectorClient
    # The gateway's own reads (token lookups): from the read replica when one is configured.
    reads: ReadRouting


def get_state(request: Request) -> GatewayState:
    # Kept on the app rather than yielded as lifespan state: a host that enters
    # app.router.lifespan_context itself (the embedded mode) never hands yielded state to
    # requests, while app.state reaches them however the app is run.
    state = getattr(request.app.state, "gateway", None)
    if not isinstance(state, GatewayState):
        raise RuntimeError("the gateway's lifespan has not run; start the app with its lifespan")
    return state


def get_task_core(request: Request) -> TaskCoreClient:
    return get_state(request).task_core


def get_connectors(request: Request) -> ConnectorClient:
    return get_state(request).connectors


State = Annotated[GatewayState, Depends(get_state)]
TaskCore = Annotated[TaskCoreClient, Depends(get_task_core)]
Connectors = Annotated[ConnectorClient, Depends(get_connectors)]
