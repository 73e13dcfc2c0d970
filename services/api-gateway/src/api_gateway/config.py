"""The gateway's settings, read from ``TETHER_GATEWAY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, HttpUrl
from pydantic_settings import SettingsConfigDict

from tether_common.dbtypes import DatabaseUrl
from tether_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TETHER_GATEWAY_", extra="ignore", env_file=None)

    database_url: DatabaseUrl = Field(
        default="sqlite+aiosqlite:///.tether/gateway.db",
        description="Where tenants, users and API tokens live (PostgreSQL or SQLite)",
    )
    task_core_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8001"), description="Base URL of the task-core service"
    )
    task_core_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for task-core before answering 503"
    )
    trello_connector_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8002"), description="Base URL of the Trello connector"
    )
    asana_connector_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8003"), description="Base URL of the Asana connector"
    )
    jira_connector_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8004"), description="Base URL of the Jira connector"
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply database migrations when the service starts"
    )
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP server")

    def connector_urls(self) -> dict[str, HttpUrl]:
        return {
            "trello": self.trello_connector_url,
            "asana": self.asana_connector_url,
            "jira": self.jira_connector_url,
        }
