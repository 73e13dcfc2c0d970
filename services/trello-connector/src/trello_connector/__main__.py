"""`python -m trello_connector [serve|migrate]`: run the Trello connector as its own process, or
apply its database migrations and exit."""

import sys

from tether_connector_runtime.serve import main
from trello_connector.app import create_app
from trello_connector.config import TrelloSettings

if __name__ == "__main__":
    sys.exit(main("trello", TrelloSettings, create_app))
