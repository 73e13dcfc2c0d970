"""Asana connector settings (env prefix ``TETHER_ASANA_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_connector_runtime.public_urls import (
    consent_callback,
    public_url_alias,
    secure_oauth_base,
    under,
)
from tether_connector_runtime.settings import ConnectorSettings

ENV_PREFIX = "TETHER_ASANA_"
OAUTH_URL_MEANING = (
    "Base URL of Asana's OAuth 2.0 endpoints (/-/oauth_authorize, /-/oauth_token, "
    "/-/oauth_revoke); https, or http on a loopback address with a port (an emulator)"
)


class AsanaSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", populate_by_name=True)

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
        "https://app.asana.com",
        description=OAUTH_URL_MEANING,
    )
    oauth_scopes: list[str] = Field(
        default_factory=list,
        description="Scopes asked for at consent, for an app registered with granular "
        "scopes (https://developers.asana.com/docs/oauth-scopes), e.g. "
        '["tasks:read","tasks:write","tasks:delete","projects:read","project_sections:read",'
        '"webhooks:read","webhooks:write","webhooks:delete","users:read","workspaces:read"]; '
        "empty: the app's registered permissions (full permissions)",
    )
    oauth_callback_url: str | None = Field(
        default=None,
        description="Where Asana sends the browser back after consent (registered with the "
        "OAuth app): the gateway's /v1/connections/asana/callback as the browser reaches it; "
        "unset: <public_url>/v1/connections/asana/callback",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/asana-connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=public_url_alias(ENV_PREFIX),
        description="Public base URL Asana calls back (TETHER_PUBLIC_URL); webhooks arrive "
        "at <public_url>/webhooks/asana/<webhook key>",
    )

    @property
    def webhook_url(self) -> str:
        return under(self.public_url, "/webhooks/asana")

    @property
    def oauth_callback(self) -> str:
        return consent_callback(self.public_url, "asana", self.oauth_callback_url)

    @field_validator("oauth_url")
    @classmethod
    def _tls_for_oauth(cls, value: str) -> str:
        return secure_oauth_base(value)
