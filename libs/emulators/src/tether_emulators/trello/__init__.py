"""A Trello REST API emulator: ``create_trello_emulator()`` builds it as a FastAPI app.

Serve it under any host; clients use ``http://host:port/1`` as their Trello base URL. The
control API (``/_emulator``) seeds data, edits cards as a person in Trello and disturbs webhook
delivery; ``python -m tether_emulators.trello`` runs a seeded sandbox.
"""

from tether_emulators.trello.app import DEFAULT_RETRY_DELAYS, create_trello_emulator, get_emulator
from tether_emulators.trello.emulator import SandboxInfo, TrelloEmulator
from tether_emulators.trello.errors import TrelloError
from tether_emulators.trello.webhooks import trello_signature

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "SandboxInfo",
    "TrelloEmulator",
    "TrelloError",
    "create_trello_emulator",
    "get_emulator",
    "trello_signature",
]
