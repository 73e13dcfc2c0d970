"""The Jira connector service: the connector runtime with the Jira adapter."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from jira_connector.adapter import JiraAdapter
from jira_connector.config import JiraSettings
from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus


def create_app(
    settings: JiraSettings | None = None,
    *,
    bus: EventBus | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``bus``: a shared bus (embedded mode); its owner starts and stops it. ``transport``:
    how to reach Jira (tests hand in an emulator in memory)."""
    settings = settings or JiraSettings()
    return create_connector_app(
        "jira",
        settings,
        lambda http: JiraAdapter(http, settings, transport=transport),
        bus=bus,
        transport=transport,
    )
