"""Runs one connector as its own process (distributed mode)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from tether_connector_runtime.settings import ConnectorSettings


def serve(app: FastAPI, settings: ConnectorSettings) -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
