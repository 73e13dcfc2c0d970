"""`python -m asana_connector [serve|migrate]`: run the Asana connector as its own process, or
apply its database migrations and exit."""

import sys

from asana_connector.app import create_app
from asana_connector.config import AsanaSettings
from tether_connector_runtime.serve import main

if __name__ == "__main__":
    sys.exit(main("asana", AsanaSettings, create_app))
