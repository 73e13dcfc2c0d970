"""What counts as a secret of an end-to-end run, and the forms it could take in a log line.

The list is read from what the run actually configured (each service's environment, the
database URL, the tokens the test presented) and from what the connectors were handed during
the run and keep encrypted (OAuth access and refresh tokens, API tokens, webhook signing
secrets), never typed out here, so a new secret is scanned for as soon as a run uses it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from sqlalchemy import select
from sqlalchemy.engine import make_url

from tether_common.db import create_engine
from tether_connector_runtime.secrets import TokenCipher, parse_keys
from tether_connector_runtime.store.tables import connector_tables

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


async def stored_secrets(database_url: str, provider: str, encryption_keys: str) -> set[str]:
    """Every credential ``provider``'s connector keeps, decrypted with its configured keys:
    each connection's (a token; or, stored as JSON, each value named as a token or secret,
    and Basic auth's ``email:api_token``), each webhook's signing secret, each pending
    consent's secret."""
    t = connector_tables(provider)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = [
                *(await connection.execute(select(t.connections.c.token_encrypted))).scalars(),
                *(await connection.execute(select(t.webhooks.c.secret_encrypted))).scalars(),
                *(
                    await connection.execute(select(t.pending_authorizations.c.secret_encrypted))
                ).scalars(),
            ]
    finally:
        await engine.dispose()
    cipher = TokenCipher(parse_keys(encryption_keys))
    found: set[str] = set()
    for ciphertext in stored:
        if ciphertext is not None:
            found |= _credentials_in(cipher.decrypt(ciphertext))
    return {value for value in found if len(value) >= _SHORTEST}


def _credentials_in(plaintext: str) -> set[str]:
    try:
        document = json.loads(plaintext)
    except ValueError:
        return {plaintext}
    if not isinstance(document, dict):
        return {plaintext}
    found = {
        str(value)
        for name, value in document.items()
        if isinstance(value, str) and re.search(r"token|secret", name, re.I)
    }
    if document.get("email") and document.get("api_token"):
        found.add(f"{document['email']}:{document['api_token']}")
    return found


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
