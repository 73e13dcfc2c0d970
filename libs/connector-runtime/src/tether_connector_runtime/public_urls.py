"""The URLs a connector hands to its provider: where webhooks call back, where a consent page
sends the browser back, and the provider's OAuth base URL, checked at start-up."""

from __future__ import annotations

from authlib.common.security import is_secure_transport
from pydantic import AliasChoices


def public_url_alias(env_prefix: str) -> AliasChoices:
    """``TETHER_PUBLIC_URL`` first, then the connector's own: in embedded mode every connector
    shares the gateway's port, so one public base serves them all."""
    return AliasChoices("TETHER_PUBLIC_URL", f"{env_prefix}PUBLIC_URL")


def under(public_url: str, path: str) -> str:
    """``path`` (starting with ``/``) under the public base URL."""
    return f"{public_url.rstrip('/')}{path}"


def consent_callback(public_url: str, provider: str, override: str | None) -> str:
    """Where the provider's consent page sends the browser back: ``override`` if set, else
    the gateway's ``/v1/connections/<provider>/callback`` under the public URL."""
    return override or under(public_url, f"/v1/connections/{provider}/callback")


def secure_oauth_base(value: str) -> str:
    """An OAuth base URL without its trailing slash; ``ValueError`` unless https (or plain
    http on a loopback address with a port, an emulator): codes, verifiers and client secrets
    travel to it, and authlib refuses plain http anyway, so refuse at start-up rather than at
    the first consent."""
    if not is_secure_transport(value.rstrip("/") + "/"):
        raise ValueError("must be https (plain http only on a loopback address with a port)")
    return value.rstrip("/")
