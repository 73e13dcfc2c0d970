"""Provider tokens encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, authenticated).

Key rotation: the setting holds one key or several separated by commas. The first encrypts;
all decrypt (MultiFernet), so a new key is put first, :meth:`TokenCipher.rotate` re-encrypts
stored tokens, and the old key is removed afterwards. Neither keys nor plaintext are ever put in
a message, a repr or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from tether_connector_runtime.settings import ConnectorSettings

# Relative to the working directory, next to the embedded mode's SQLite files.
DEV_KEY_FILE = Path(".tether/connector-secret.key")


class EncryptionKeyError(ValueError):
    """The token encryption key is missing or is not a Fernet key."""


class TokenDecryptError(Exception):
    """A stored token does not decrypt with any configured key (wrong key or tampered)."""


def generate_key() -> str:
    """A new random Fernet key: 32 bytes, url-safe base64 (44 characters)."""
    return Fernet.generate_key().decode()


def parse_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


class TokenCipher:
    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise EncryptionKeyError("no token encryption key given")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # ``from None``: the original error may quote the key.
                raise EncryptionKeyError(
                    f"token encryption key #{number} is not a Fernet key (32 bytes, url-safe "
                    "base64); create one with `python -c 'from tether_connector_runtime.secrets "
                    "import generate_key; print(generate_key())'`"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._first = fernets[0]
        self._count = len(fernets)

    @classmethod
    def from_settings(
        cls, settings: ConnectorSettings, *, dev_key_file: Path = DEV_KEY_FILE
    ) -> TokenCipher:
        if settings.token_encryption_key is not None:
            return cls(parse_keys(settings.token_encryption_key.get_secret_value()))
        if settings.environment != "development":
            raise EncryptionKeyError(f"{settings.token_key_env_name()} must be set in production")
        return cls([development_key(dev_key_file)])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise TokenDecryptError(
                "stored token does not decrypt with any configured key (was the key changed "
                "without keeping the old one for rotation?)"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored token under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise TokenDecryptError("stored token does not decrypt with any key") from None

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted under the first (newest) key already: rotating it
        would change nothing but its random IV (``tether keys rotate`` skips it)."""
        try:
            self._first.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def __repr__(self) -> str:
        return f"TokenCipher(<{self._count} key(s)>)"


def development_key(path: Path = DEV_KEY_FILE) -> str:
    """The development key, created on first use.

    Why a file and not a key in the source: a key everyone can read protects nothing, even on a
    laptop. Why not a fresh key per start: tokens stored yesterday must still decrypt. The
    file is created atomically (written aside, then hard-linked into place) with mode 0600, so
    connectors starting together in one embedded process agree on one key.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(generate_key() + "\n")
    try:
        os.link(aside, path)
    except FileExistsError:
        pass  # another process won the race: use its key
    finally:
        aside.unlink()
    return path.read_text().strip()
