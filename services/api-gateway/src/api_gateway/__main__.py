"""``python -m api_gateway serve|migrate|token ...``"""

from api_gateway.cli import cli
from api_gateway.config import GatewaySettings
from tether_common.logging import configure_logging

# Logging is the process's to configure (the umbrella `tether` CLI does its own); it goes to
# stderr, so `token create` still prints nothing but the token on stdout.
_settings = GatewaySettings()
configure_logging("api-gateway", _settings.log_level, _settings.log_json)
cli(prog_name="python -m api_gateway")
