"""`python -m jira_connector`: run the Jira connector as its own process."""

from jira_connector.app import create_app
from jira_connector.config import JiraSettings
from tether_connector_runtime.serve import serve

if __name__ == "__main__":
    settings = JiraSettings()
    serve(create_app(settings), settings)
