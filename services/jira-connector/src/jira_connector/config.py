"""Jira connector settings (env prefix ``TETHER_JIRA_``)."""

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

ENV_PREFIX = "TETHER_JIRA_"
# https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/: classic scopes, and
# offline_access for a refresh token.
DEFAULT_SCOPES = ["read:jira-work", "write:jira-work", "manage:jira-webhook", "read:jira-user",
                  "offline_access"]  # fmt: skip


class JiraSettings(ConnectorSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", populate_by_name=True)

    port: int = Field(default=8004, ge=1, le=65535, description="HTTP port (distributed mode)")
    api_url: str = Field(
        default="https://api.atlassian.com",
        description="Base URL of Atlassian's API gateway for OAuth 2.0 (3LO) connections: "
        "accessible-resources and /ex/jira/<cloud id>/rest/api/3 are under it",
    )
    auth_url: str = Field(
        default="https://auth.atlassian.com",
        description="Base URL of Atlassian's OAuth 2.0 endpoints (/authorize, /oauth/token); "
        "https, or http on a loopback address with a port (an emulator)",
    )
    client_id: str = Field(default="", description="The Atlassian OAuth 2.0 (3LO) app's client id")
    client_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The Atlassian OAuth 2.0 (3LO) app's client secret (also verifies the "
        "JWT on its dynamic webhooks' deliveries)",
    )
    oauth_scopes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCOPES),
        description="Scopes asked for at consent (offline_access gives a refresh token)",
    )
    oauth_callback_url: str | None = Field(
        default=None,
        description="Where Atlassian sends the browser back after consent (registered with "
        "the app): the gateway's /v1/connections/jira/callback as the browser reaches it; "
        "unset: <public_url>/v1/connections/jira/callback",
    )
    site_hosts: list[str] = Field(
        default_factory=lambda: [".atlassian.net", ".jira.com"],
        description="Hosts an API-token connection may name as its site (the token is sent "
        "there): an entry starting with a dot matches its subdomains, any other that host",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/jira-connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=public_url_alias(ENV_PREFIX),
        description="Public base URL Jira calls back (TETHER_PUBLIC_URL); webhooks arrive at "
        "<public_url>/webhooks/jira (an app's dynamic webhooks) or "
        "<public_url>/webhooks/jira/<webhook key> (admin webhooks)",
    )

    @property
    def webhook_url(self) -> str:
        return under(self.public_url, "/webhooks/jira")

    @property
    def oauth_callback(self) -> str:
        return consent_callback(self.public_url, "jira", self.oauth_callback_url)

    @field_validator("auth_url")
    @classmethod
    def _tls_for_oauth(cls, value: str) -> str:
        return secure_oauth_base(value)
