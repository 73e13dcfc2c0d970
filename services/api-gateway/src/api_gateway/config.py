"""The gateway's settings, read from ``TETHER_GATEWAY_*`` environment variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_common.replica_settings import ReadReplicaChecked
from tether_common.settings import ServiceSettings
from tether_contracts.sync import Provider


class GatewaySettings(ReadReplicaChecked, ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_GATEWAY_", extra="ignore", env_file=None)

    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/gateway.db",
        description="Where tenants, users and API tokens live (PostgreSQL or SQLite)",
    )
    read_database_url: DatabaseUrl | None = Field(
        default=None,
        description="A PostgreSQL streaming replica of DATABASE_URL that serves token lookups; "
        "a token it does not know yet (just created) is looked up on the primary. Unset: "
        "every lookup goes to DATABASE_URL",
    )
    read_your_writes_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long the gateway remembers a tenant's last task write (its WAL "
        "position, from task-core) and a user's own profile change, so that their reads "
        "reflect them even while a read replica lags",
    )
    task_core_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8001"), description="Base URL of the task-core service"
    )
    task_core_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for task-core before answering 503"
    )
    # None (or an empty variable) means the deployment runs no connector for that provider:
    # its connections cannot be made, listed or exported to.
    trello_connector_url: HttpUrl | None = Field(
        default=HttpUrl("http://127.0.0.1:8002"), description="Base URL of the Trello connector"
    )
    asana_connector_url: HttpUrl | None = Field(
        default=HttpUrl("http://127.0.0.1:8003"), description="Base URL of the Asana connector"
    )
    jira_connector_url: HttpUrl | None = Field(
        default=HttpUrl("http://127.0.0.1:8004"), description="Base URL of the Jira connector"
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply database migrations when the service starts"
    )
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP server")

    @field_validator(
        "trello_connector_url", "asana_connector_url", "jira_connector_url", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # An environment variable cannot hold None; ``TETHER_GATEWAY_JIRA_CONNECTOR_URL=`` can.
        return None if isinstance(value, str) and not value.strip() else value

    def connector_urls(self) -> dict[Provider, HttpUrl]:
        """The connectors this deployment runs, by provider; the others are left out."""
        urls: dict[Provider, HttpUrl | None] = {
            "trello": self.trello_connector_url,
            "asana": self.asana_connector_url,
            "jira": self.jira_connector_url,
        }
        return {provider: url for provider, url in urls.items() if url is not None}
