"""The Asana connector service. Only its skeleton exists so far: sync arrives with its issue."""

from __future__ import annotations

from fastapi import FastAPI

from asana_connector.config import AsanaSettings
from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus


def create_app(settings: AsanaSettings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    return create_connector_app("asana", settings or AsanaSettings(), bus=bus)
