"""API tokens: how they are made, recognised and stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_SCHEME = "tth_"
# "tth_" plus 8 random characters: shown to people so they can tell their tokens apart.
PREFIX_LENGTH = len(TOKEN_SCHEME) + 8
# token_urlsafe(32) yields 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128


def generate_token() -> str:
    return TOKEN_SCHEME + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token: the only form in which a token is stored.

    A plain fast hash is enough here, unlike for passwords: a token carries 256 bits from a
    CSPRNG, so there is nothing to brute-force and no need for a slow, salted KDF (bcrypt,
    argon2). A fast, deterministic hash also lets us find the token by an indexed lookup, and
    comparing digests in the database leaks no timing that helps an attacker (learning bytes
    of a digest does not reveal a preimage).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


def looks_like_token(candidate: str) -> bool:
    """Cheap shape check so garbage never costs a database round trip."""
    return candidate.startswith(TOKEN_SCHEME) and len(candidate) <= MAX_TOKEN_LENGTH
