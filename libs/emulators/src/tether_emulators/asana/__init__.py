"""An Asana REST API emulator: ``create_asana_emulator()`` builds it as a FastAPI app.

Serve it under any host; clients use ``http://host:port/api/1.0`` as their Asana base URL and
``http://host:port`` for OAuth (``/-/oauth_authorize``, ``/-/oauth_token``). The control API
(``/_emulator``) seeds data, acts as a person in Asana and disturbs delivery;
``python -m tether_emulators.asana`` runs a seeded sandbox.
"""

from tether_emulators.asana.app import (
    DEFAULT_RETRY_DELAYS,
    SANDBOX_APP,
    create_asana_emulator,
    get_emulator,
)
from tether_emulators.asana.emulator import AsanaEmulator, OAuthApp, SandboxInfo
from tether_emulators.asana.errors import AsanaError
from tether_emulators.asana.webhooks import asana_signature

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "SANDBOX_APP",
    "AsanaEmulator",
    "AsanaError",
    "OAuthApp",
    "SandboxInfo",
    "asana_signature",
    "create_asana_emulator",
    "get_emulator",
]
