"""What the connectors' OAuth 2.0 apps share (RFC 6749): authlib's httpx client on the
connector's transport, the consent's return read, and a token endpoint's answer turned into
the runtime's errors. What differs per provider (PKCE, scopes, rotating refresh tokens, whom a
token belongs to) stays in each connector's ``oauth.py``.

A token endpoint's answer (RFC 6749, sections 5.1 and 5.2) becomes:

- 401, or ``invalid_client``: ``AppRefused``, the app's own credentials are wrong (a
  deployment setting). Section 5.2 keeps 401 for a failed client authentication; Atlassian
  then names ``access_denied`` ("Unauthorized") rather than ``invalid_client``;
- ``invalid_grant``, ``unauthorized_client``, ``access_denied``: ``AuthRevokedError``, the
  grant is gone and the person must consent again;
- any other OAuth error: ``PermanentProviderError`` in the provider's words;
- a 5xx (authlib raises for it), a timeout, a network failure, an answer that is no JSON or
  names no ``access_token`` (a 429, a proxy's page): ``RetryableProviderError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from tether_connector_runtime.api.consent import AppRefused, OAuthNotConfigured
from tether_connector_runtime.provider_http import json_object
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)

# OAuth errors that mean the grant itself is gone: the person must consent again.
GRANT_GONE = frozenset({"invalid_grant", "unauthorized_client", "access_denied"})
# What a consent's error says to a person, when the provider adds no description.
_MEANINGS = {"access_denied": "consent was refused (or the page was cancelled)"}
# authlib's hooks on the token endpoint's answers (the code grant's and the refresh grant's).
_TOKEN_ANSWERS = ("access_token_response", "refresh_token_response")


def _said(error: object, description: object) -> str:
    return f"{error}: {description}" if description else str(error)


@dataclass(frozen=True)
class OAuth2App:
    """A connector's OAuth 2.0 app. ``provider``: as people read it ("Asana", "Jira");
    ``env_prefix``: its settings' ("TETHER_ASANA_"), named when the app's own credentials are
    missing or refused; ``client_id``/``client_secret``: from the settings (empty: unset)."""

    provider: str
    env_prefix: str
    client_id: str
    client_secret: str

    def client(
        self, transport: httpx.AsyncBaseTransport | None, **options: Any
    ) -> AsyncOAuth2Client:
        """authlib's client for one exchange, sending the app's credentials in the form body
        (``client_secret_post``) with a 30 s timeout; ``options`` are the provider's
        (``redirect_uri``, ``scope``, ``code_challenge_method``...). ``OAuthNotConfigured``
        without a client id and secret."""
        if not self.client_id or not self.client_secret:
            raise OAuthNotConfigured(
                f"connecting through {self.provider} needs an OAuth app: set "
                f"{self.env_prefix}CLIENT_ID and {self.env_prefix}CLIENT_SECRET"
            )
        client = AsyncOAuth2Client(
            self.client_id,
            self.client_secret,
            token_endpoint_auth_method="client_secret_post",
            transport=transport,
            timeout=30.0,
            **options,
        )
        for hook in _TOKEN_ANSWERS:
            client.register_compliance_hook(hook, self._unless_app_refused)
        return client

    def refused(self, said: str) -> AppRefused:
        """The provider refused the app's own credentials, in its words."""
        return AppRefused(
            f"{self.provider} refused the OAuth app (are {self.env_prefix}CLIENT_ID and "
            f"{self.env_prefix}CLIENT_SECRET right?): {said}"
        )

    def _unless_app_refused(self, response: httpx.Response) -> httpx.Response:
        # authlib reads only the body of a refusal; its status is seen here, before that.
        if response.status_code == 401:
            body = json_object(response)
            raise self.refused(_said(body.get("error", 401), body.get("error_description")))
        return response

    async def token(self, call: Awaitable[Any]) -> dict[str, Any]:
        """The token answer of an authlib call (``fetch_token``, ``refresh_token``), or the
        runtime's error for it (module docstring)."""
        name = self.provider
        try:
            token: dict[str, Any] = dict(await call)
        except OAuthError as exc:
            said = _said(exc.error, exc.description)
            if exc.error == "invalid_client":
                raise self.refused(said) from exc
            if exc.error in GRANT_GONE:
                raise AuthRevokedError(f"{name} refused the grant: {said}") from exc
            raise PermanentProviderError(f"{name} refused: {said}") from exc
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise RetryableProviderError(
                f"{name} {status} on its token endpoint", status=status
            ) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableProviderError(f"{name} unreachable: {exc!r}") from exc
        except ValueError as exc:  # not JSON: a proxy's page, an outage
            raise RetryableProviderError(f"{name}'s token endpoint answered no JSON") from exc
        if not token.get("access_token"):
            raise RetryableProviderError(f"{name}'s token endpoint answered no access token")
        return token


def consent_state(provider: str, params: Mapping[str, str]) -> str:
    """The ``state`` of the consent's return (RFC 6749, section 4.1.2); ``ValueError`` saying
    why when consent was refused (``error``, e.g. ``access_denied``, section 4.1.2.1) or the
    return lacks its ``code`` or ``state``."""
    error, description = params.get("error"), params.get("error_description")
    missing = [name for name in ("state", "code") if not params.get(name)]
    if error or description:
        said = _said(error or "error", description or _MEANINGS.get(error or ""))
        raise ValueError(f"{provider} did not grant access: {said}")
    if missing:
        raise ValueError(f"{provider} sent no {' and no '.join(missing)}: consent was not given")
    return params["state"]


def expires_at(token: Mapping[str, Any], issued: datetime, default_seconds: int) -> datetime:
    """When an access token stops working: ``issued`` plus the answer's ``expires_in``
    (seconds), or ``default_seconds`` when it names none."""
    return issued + timedelta(seconds=int(token.get("expires_in") or default_seconds))
