"""A Jira Cloud REST API emulator: ``create_jira_emulator()`` builds it as a FastAPI app.

Clients use ``http://host:port`` as their site (``/rest/api/3``, Basic auth with email and API
token) or as ``api.atlassian.com`` (``/ex/jira/{cloudId}/rest/api/3`` with OAuth 2.0 tokens from
``/oauth/token``) and as ``auth.atlassian.com`` (``/authorize``). The control API
(``/_emulator``) seeds data, acts as a person in Jira and disturbs delivery;
``python -m tether_emulators.jira`` runs a seeded sandbox.
"""

from tether_emulators.jira.app import (
    DEFAULT_RETRY_DELAYS,
    SANDBOX_APP,
    create_jira_emulator,
    get_emulator,
)
from tether_emulators.jira.emulator import JiraAccount, JiraEmulator, OAuthApp, Site
from tether_emulators.jira.errors import JiraError
from tether_emulators.jira.webhooks import hub_signature, webhook_jwt

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "SANDBOX_APP",
    "JiraAccount",
    "JiraEmulator",
    "JiraError",
    "OAuthApp",
    "Site",
    "create_jira_emulator",
    "get_emulator",
    "hub_signature",
    "webhook_jwt",
]
