"""The Trello connector service: the connector runtime with the Trello adapter."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus
from trello_connector.adapter import TrelloAdapter
from trello_connector.config import TrelloSettings


def create_app(
    settings: TrelloSettings | None = None,
    *,
    bus: EventBus | None = None,
    trello_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``bus``: a shared bus (embedded mode); its owner starts and stops it.
    ``trello_transport``: how to reach Trello (tests hand in an emulator in memory)."""
    settings = settings or TrelloSettings()
    return create_connector_app(
        "trello",
        settings,
        lambda http: TrelloAdapter(http, settings),
        bus=bus,
        transport=trello_transport,
    )
