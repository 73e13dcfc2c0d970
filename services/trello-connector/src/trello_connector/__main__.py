"""`python -m trello_connector`: run the Trello connector as its own process."""

from tether_connector_runtime.serve import serve
from trello_connector.app import create_app
from trello_connector.config import TrelloSettings

if __name__ == "__main__":
    settings = TrelloSettings()
    serve(create_app(settings), settings)
