"""Jira connector settings (env prefix `TETHER_JIRA_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_connector_runtime.settings import ConnectorSettings


class JiraSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_JIRA_", extra="ignore")

    port: int = Field(default=8004, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://api.atlassian.com", description="Base URL of the Jira REST API"
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/jira-connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )
