"""Trello connector settings (env prefix `TETHER_TRELLO_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tether_connector_runtime.settings import ConnectorSettings


class TrelloSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_TRELLO_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://api.trello.com/1", description="Base URL of the Trello REST API"
    )
