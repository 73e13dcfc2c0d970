"""Asana connector settings (env prefix `TETHER_ASANA_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_connector_runtime.settings import ConnectorSettings


class AsanaSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_ASANA_", extra="ignore")

    port: int = Field(default=8003, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://app.asana.com/api/1.0", description="Base URL of the Asana REST API"
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/asana-connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )
