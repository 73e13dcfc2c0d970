"""The client-facing HTTP API of Tether: authentication, tenants, and tasks proxied to
task-core."""

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings

__all__ = ["GatewaySettings", "create_app"]
