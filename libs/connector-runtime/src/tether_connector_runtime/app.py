"""The connector service skeleton: lifespan with typed state, health, readiness, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, FastAPI, Request

from tether_common.bus import build_bus
from tether_common.health import ReadinessCheck
from tether_common.logging import configure_logging
from tether_common.service import build_service_app
from tether_connector_runtime.settings import ConnectorSettings
from tether_events.bus import EventBus


@dataclass(frozen=True)
class ConnectorState:
    provider: str
    settings: ConnectorSettings
    bus: EventBus


def connector_state(request: Request) -> ConnectorState:
    return cast(ConnectorState, request.app.state.connector)


def create_connector_app(
    provider: str,
    settings: ConnectorSettings,
    *,
    bus: EventBus | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """``bus``: inject a shared bus (embedded mode); its owner starts and stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        if bus is None:
            configure_logging(f"{provider}-connector", settings.log_level, settings.log_json)
        own_bus = bus is None
        active_bus = bus or build_bus(settings, client_id=f"{provider}-connector")
        if own_bus:
            await active_bus.start()
        # Kept on app.state rather than yielded: a host that enters this lifespan itself
        # (embedded mode) never sees yielded state.
        app.state.connector = ConnectorState(provider, settings, active_bus)
        try:
            yield {}
        finally:
            if own_bus:
                await active_bus.stop()

    def readiness(request: Request) -> Mapping[str, ReadinessCheck]:
        # Nothing external is needed yet beyond the bus, which start-up already proved.
        return {}

    return build_service_app(
        service=f"{provider}-connector",
        title=f"Tether {provider.capitalize()} connector",
        lifespan=lifespan,
        routers=routers,
        readiness=readiness,
    )
