"""The Trello connector service. Only its skeleton exists so far: sync arrives with its issue."""

from __future__ import annotations

from fastapi import FastAPI

from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus
from trello_connector.config import TrelloSettings


def create_app(settings: TrelloSettings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    return create_connector_app("trello", settings or TrelloSettings(), bus=bus)
