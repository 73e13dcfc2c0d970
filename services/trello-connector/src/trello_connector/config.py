"""Trello connector settings (env prefix ``TETHER_TRELLO_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_connector_runtime.settings import ConnectorSettings


class TrelloSettings(ConnectorSettings):
    model_config = SettingsConfigDict(
        env_prefix="TETHER_TRELLO_", extra="ignore", populate_by_name=True
    )

    port: int = Field(default=8002, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://api.trello.com/1",
        description="Base URL of the Trello REST API (point it at any server that speaks it)",
    )
    api_key: str = Field(default="", description="The Trello app key (trello.com/power-ups/admin)")
    api_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The Trello app secret: signs OAuth 1.0a and verifies webhook deliveries",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        # One public base for every connector: in embedded mode they share the gateway's port.
        validation_alias=AliasChoices("TETHER_PUBLIC_URL", "TETHER_TRELLO_PUBLIC_URL"),
        description="Public base URL Trello calls back (TETHER_PUBLIC_URL); "
        "webhooks arrive at <public_url>/webhooks/trello",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/trello-connector.db",
        description="Where connections, link sync state and webhooks live",
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply database migrations when the service starts"
    )
    reconcile_interval: float = Field(
        default=60.0, gt=0, description="Seconds between polls that repair missed webhooks"
    )

    @property
    def webhook_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/webhooks/trello"
