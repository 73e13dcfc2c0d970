"""What counts as a secret of an end-to-end run, and the forms it could take in a log line.

The list is read from what the run actually configured (each service's environment, the
database URL, the tokens the test presented), never typed out here, so a new secret setting is
scanned for as soon as a run uses it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url

# Environment names that hold a credential: API secrets, token encryption keys, app keys,
# passwords, tokens. (TETHER_TRELLO_TOKEN_SHARE is a number, hence the anchors.)
_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|_TOKEN|_KEY)$")
# Shorter values would match by accident (a "1" in any timestamp); no real credential is this
# short, and the test asserts every secret it expects did make the list.
_SHORTEST = 6


def secrets_of_env(env: Mapping[str, str]) -> set[str]:
    """The credential values of one service's environment, the database password included."""
    found = {value for name, value in env.items() if _SECRET_NAME.search(name)}
    for name, value in env.items():
        if name.endswith("DATABASE_URL"):
            password = make_url(value).password
            if password:
                found.add(str(password))
    return {value for value in found if len(value) >= _SHORTEST}


def leak_forms(secret: str) -> set[str]:
    """``secret`` as a log line might carry it: verbatim (which covers "Bearer <token>" and
    "token=<token>"), URL-encoded, JSON-escaped and base64-encoded (Basic auth, headers)."""
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """Each secret some form of which occurs in ``text`` (the secret itself, to report)."""
    return sorted(s for s in secrets if any(form in text for form in leak_forms(s)))
