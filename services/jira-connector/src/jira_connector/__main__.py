"""`python -m jira_connector [serve|migrate]`: run the Jira connector as its own process, or
apply its database migrations and exit."""

import sys

from jira_connector.app import create_app
from jira_connector.config import JiraSettings
from tether_connector_runtime.serve import main

if __name__ == "__main__":
    sys.exit(main("jira", JiraSettings, create_app))
