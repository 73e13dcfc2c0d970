"""The Jira connector service. Only its skeleton exists so far: sync arrives with its issue."""

from __future__ import annotations

from fastapi import FastAPI

from jira_connector.config import JiraSettings
from tether_connector_runtime.app import create_connector_app
from tether_events.bus import EventBus


def create_app(settings: JiraSettings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    return create_connector_app("jira", settings or JiraSettings(), bus=bus)
