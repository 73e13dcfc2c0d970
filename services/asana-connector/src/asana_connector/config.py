"""Asana connector settings (env prefix ``TETHER_ASANA_``)."""

from __future__ import annotations

from authlib.common.security import is_secure_transport
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_connector_runtime.settings import ConnectorSettings


class AsanaSettings(ConnectorSettings):
    model_config = SettingsConfigDict(
        env_prefix="TETHER_ASANA_", extra="ignore", populate_by_name=True
    )

    port: int = Field(default=8003, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://app.asana.com/api/1.0",
        description="Base URL of the Asana REST API (point it at any server that speaks it)",
    )
    requests_per_minute: int = Field(
        default=150,
        ge=1,
        description="Asana's request quota per token and minute: 150 on free workspaces, "
        "1500 on paid ones; calls are kept below it",
    )
    client_id: str = Field(default="", description="The Asana OAuth app's client id")
    client_secret: SecretStr = Field(
        default=SecretStr(""), description="The Asana OAuth app's client secret"
    )
    oauth_url: str = Field(
        default="https://app.asana.com",
        description="Base URL of Asana's OAuth 2.0 endpoints (/-/oauth_authorize, "
        "/-/oauth_token, /-/oauth_revoke); https, or http on a loopback address with a port "
        "(an emulator)",
    )
    oauth_callback_url: str | None = Field(
        default=None,
        description="Where Asana sends the browser back after consent (registered with the "
        "OAuth app): the gateway's /v1/connections/asana/callback as the browser reaches it; "
        "unset: <public_url>/v1/connections/asana/callback",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        # One public base for every connector: in embedded mode they share the gateway's port.
        validation_alias=AliasChoices("TETHER_PUBLIC_URL", "TETHER_ASANA_PUBLIC_URL"),
        description="Public base URL Asana calls back (TETHER_PUBLIC_URL); webhooks arrive "
        "at <public_url>/webhooks/asana/<webhook key>",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/asana-connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )

    @property
    def webhook_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/webhooks/asana"

    @property
    def oauth_callback(self) -> str:
        default = f"{self.public_url.rstrip('/')}/v1/connections/asana/callback"
        return self.oauth_callback_url or default

    @field_validator("oauth_url")
    @classmethod
    def _tls_for_oauth(cls, value: str) -> str:
        # The code, the PKCE verifier and the client secret travel to the token endpoint;
        # authlib refuses plain http, so refuse at start-up rather than at the first consent.
        if not is_secure_transport(value.rstrip("/") + "/"):
            raise ValueError("must be https (plain http only on a loopback address with a port)")
        return value.rstrip("/")
