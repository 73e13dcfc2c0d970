"""The Asana connector service: the connector runtime with the Asana adapter."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from asana_connector.adapter import AsanaAdapter
from asana_connector.config import AsanaSettings
from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus


def create_app(
    settings: AsanaSettings | None = None,
    *,
    bus: EventBus | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``bus``: a shared bus (embedded mode); its owner starts and stops it.
    ``transport``: how to reach Asana, its API and its OAuth endpoints (tests hand in an
    emulator in memory)."""
    settings = settings or AsanaSettings()
    return create_connector_app(
        "asana",
        settings,
        lambda http: AsanaAdapter(http, settings, transport=transport),
        bus=bus,
        transport=transport,
    )
