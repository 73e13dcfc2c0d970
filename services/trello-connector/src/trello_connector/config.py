"""Trello connector settings (env prefix ``TETHER_TRELLO_``)."""

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
from trello_connector.client import is_credential


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
    key_limit: int = Field(
        default=300,
        ge=1,
        description="Calls per 10 s Trello allows the app key across all its tokens (300 "
        "published; Trello raises it for an app on request): Tether stays below it",
    )
    token_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of Trello's per-token limit (100 calls per 10 s) Tether spends on "
        "a token; the rest is left to the token's other apps and Power-Ups (1 for tokens "
        "only Tether uses). Trello's remaining-calls headers are heeded either way",
    )
    oauth_url: str = Field(
        default="https://trello.com/1",
        description="Base URL of Trello's OAuth 1.0a endpoints (OAuthGetRequestToken, "
        "OAuthAuthorizeToken, OAuthGetAccessToken); https, or http on a loopback address "
        "with a port (an emulator)",
    )
    oauth_callback_url: str | None = Field(
        default=None,
        description="Where Trello sends the browser back after consent: the gateway's "
        "/v1/connections/trello/callback as the browser reaches it; unset: "
        "<public_url>/v1/connections/trello/callback",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        # One public base for every connector: in embedded mode they share the gateway's port.
        validation_alias=public_url_alias("TETHER_TRELLO_"),
        description="Public base URL Trello calls back (TETHER_PUBLIC_URL); "
        "webhooks arrive at <public_url>/webhooks/trello",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/trello-connector.db",
        description="Where connections, link sync state and webhooks live",
    )

    @property
    def webhook_url(self) -> str:
        return under(self.public_url, "/webhooks/trello")

    @property
    def oauth_callback(self) -> str:
        return consent_callback(self.public_url, "trello", self.oauth_callback_url)

    @field_validator("api_key")
    @classmethod
    def _key_fits_a_header(cls, value: str) -> str:
        # The key travels in a quoted Authorization parameter; refused at start-up rather than
        # at every call (which refuses it too).
        if value and not is_credential(value):
            raise ValueError("must be a Trello app key (letters and digits)")
        return value

    @field_validator("oauth_url")
    @classmethod
    def _tls_for_oauth(cls, value: str) -> str:
        # OAuth 1.0a sends the request token's secret in the clear.
        return secure_oauth_base(value)
