"""Settings every connector has; each connector subclasses with its own env prefix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from tether_common.dbtypes import DatabaseUrl
from tether_common.settings import BusSettings, ServiceSettings
from tether_connector_runtime.secrets import TokenCipher, parse_keys
from tether_sync import GuardConfig


class ConnectorSettings(ServiceSettings, BusSettings):
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8002, ge=1, le=65535, description="HTTP port (distributed mode)")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL providers call back (webhooks); must reach this connector",
    )
    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/connector.db",
        description="Where connections, link sync state, webhooks and the outbox live",
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply database migrations when the service starts"
    )
    reconcile_interval: float = Field(
        default=60.0, gt=0, description="Seconds between polls that repair missed webhooks"
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        description="Tries of an event that fails for a reason other than the provider (our "
        "own bug, a malformed event) before it is dead-lettered",
    )
    retry_base_delay: float = Field(
        default=1.0, gt=0, description="Seconds before a link's first retry; doubles per try"
    )
    retry_max_delay: float = Field(
        default=60.0, gt=0, description="Longest wait between two retries of a link, in seconds"
    )
    retry_limit: float = Field(
        default=86_400.0,
        gt=0,
        description="Seconds a link keeps retrying a provider that fails before it is marked "
        "failed (default 24 h)",
    )
    burst_window: float = Field(
        default=1.0,
        ge=0,
        description="Seconds after a write to an item during which further changes of its task "
        "are held and go together in one write at the window's end (0: each change is written "
        "at once)",
    )
    budget_wait: float = Field(
        default=0.5,
        ge=0,
        description="Seconds a write may wait for its rate-limit budget; longer, and its "
        "link's work is held until the budget has room while other links' work goes on",
    )
    links_cache_size: int = Field(
        default=10_000,
        ge=1,
        description="Tasks whose links the connector keeps in memory (least recently used "
        "dropped first), so a task change for a task not linked here costs no database "
        "lookup; each answer holds only for the task's links_version it was looked up for",
    )
    placements_cache_size: int = Field(
        default=1_000,
        ge=1,
        description="Export targets (a list, a section, a project and issue type) whose "
        "place at the provider the connector keeps in memory per connection (least recently "
        "used dropped first), so an export to a place used before costs no lookup call; an "
        "answer the provider contradicts is dropped",
    )
    gauge_interval: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between counts of retrying links, broken connections and dead "
        "letters (metrics)",
    )
    retry_poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds between looks for links due for a retry"
    )
    credential_renewal_margin: float = Field(
        default=300.0,
        ge=0,
        description="Seconds before an expiring access token (OAuth 2) stops working that it is "
        "renewed",
    )
    webhook_renewal_margin: float = Field(
        default=15 * 86_400.0,
        ge=0,
        description="Seconds before an expiring webhook (Jira's dynamic webhooks last 30 days) "
        "is dropped by its provider that it is refreshed, or registered again if it is gone",
    )
    deletion_burst_threshold: int = Field(
        default=10,
        ge=1,
        description="Deletions one account may propagate per window; the next one pauses that "
        "account's deletions until a person confirms them",
    )
    deletion_burst_window: float = Field(
        default=300.0, gt=0, description="Seconds over which deletion bursts are counted"
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="development or production; production refuses to start without "
        "TOKEN_ENCRYPTION_KEY",
    )
    token_encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) encrypting provider tokens at rest, comma-separated, the "
        "first encrypts (rotation); unset in development: a key kept in "
        ".tether/connector-secret.key",
    )

    def token_key_env_name(self) -> str:
        return f"{self.model_config.get('env_prefix', '')}TOKEN_ENCRYPTION_KEY"

    @field_validator("token_encryption_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # ``KEY=`` in an env file or compose file means "not set", not "an empty key".
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _usable_token_key(self) -> Self:
        # Fail at start-up, not at the first connection a user makes.
        if self.token_encryption_key is not None:
            TokenCipher(parse_keys(self.token_encryption_key.get_secret_value()))
        elif self.environment == "production":
            raise ValueError(f"{self.token_key_env_name()} must be set in production")
        return self


def deletion_guard_config(settings: ConnectorSettings) -> GuardConfig:
    return GuardConfig(
        threshold=settings.deletion_burst_threshold,
        window=timedelta(seconds=settings.deletion_burst_window),
    )
