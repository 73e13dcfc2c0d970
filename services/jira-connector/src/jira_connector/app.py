"""The Jira connector service: the connector runtime, with an adapter that refuses connections
until the Jira adapter exists (its own issue)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from jira_connector.config import JiraSettings
from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.skeleton import NotYetConnectable
from tether_events.bus import EventBus


def create_app(
    settings: JiraSettings | None = None,
    *,
    bus: EventBus | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or JiraSettings()
    return create_connector_app(
        "jira",
        settings,
        lambda http: NotYetConnectable("jira", settings.public_url),
        bus=bus,
        transport=transport,
    )
