"""Webhook signature schemes of the three providers (PROVIDERS.md), on the raw body bytes.

Always over the bytes as received: re-serialised JSON differs in spacing and key order, and the
signature would no longer match. Comparisons are constant-time so response timing does not
reveal how much of a forged signature was right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class SignatureInvalid(Exception):
    """The delivery is not signed by the provider; nothing of it may be processed."""


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    # Encoded first: compare_digest refuses str with non-ASCII characters.
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def _check(secret: str, expected: str, received: str | None, header: str) -> None:
    if not secret:
        # An empty key signs nothing: anyone could compute the "signature".
        raise SignatureInvalid("no webhook secret is configured, so no delivery can be trusted")
    if not received:
        raise SignatureInvalid(f"the {header} header is missing")
    if not constant_time_equals(expected, received.strip()):
        raise SignatureInvalid(f"the {header} header does not match the body")


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    """``X-Trello-Webhook``: base64(HMAC-SHA1(app secret, body + callbackURL as registered))."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_trello_signature(
    secret: str, body: bytes, callback_url: str, signature: str | None
) -> None:
    _check(secret, trello_signature(secret, body, callback_url), signature, "X-Trello-Webhook")


def asana_signature(secret: str, body: bytes) -> str:
    """``X-Hook-Signature``: hex HMAC-SHA256(X-Hook-Secret from the handshake, body)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_asana_signature(secret: str, body: bytes, signature: str | None) -> None:
    # Hex digests compare case-insensitively; normalise ours to what Asana sends (lower case).
    received = signature.lower() if signature else signature
    _check(secret, asana_signature(secret, body), received, "X-Hook-Signature")


def jira_hub_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` of Jira admin webhooks with a secret: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jira_hub_signature(secret: str, body: bytes, signature: str | None) -> None:
    received = signature.strip() if signature else signature
    if received and "=" in received:
        method, _, digest = received.partition("=")
        received = f"{method.lower()}={digest.lower()}"
    _check(secret, jira_hub_signature(secret, body), received, "X-Hub-Signature")
