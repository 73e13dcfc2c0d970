"""Settings every connector has; each connector subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field

from tether_common.settings import BusSettings, ServiceSettings


class ConnectorSettings(ServiceSettings, BusSettings):
    host: str = Field(default="127.0.0.1", description="Interface the HTTP server binds")
    port: int = Field(default=8002, ge=1, le=65535, description="HTTP port (distributed mode)")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL providers call back (webhooks); must reach this connector",
    )
