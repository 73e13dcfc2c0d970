"""The Asana connector service: the connector runtime, with an adapter that refuses connections
until the Asana adapter exists (its own issue)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from asana_connector.config import AsanaSettings
from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.skeleton import NotYetConnectable
from tether_events.bus import EventBus


def create_app(
    settings: AsanaSettings | None = None,
    *,
    bus: EventBus | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or AsanaSettings()
    return create_connector_app(
        "asana",
        settings,
        lambda http: NotYetConnectable("asana", settings.public_url),
        bus=bus,
        transport=transport,
    )
