"""`python -m asana_connector`: run the Asana connector as its own process."""

from asana_connector.app import create_app
from asana_connector.config import AsanaSettings
from tether_connector_runtime.serve import serve

if __name__ == "__main__":
    settings = AsanaSettings()
    serve(create_app(settings), settings)
