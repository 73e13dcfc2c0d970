"""Asana's OAuth 2.0 code grant with PKCE as the runtime's :class:`ConsentFlow`, and renewing
and revoking its tokens (the runtime's ``CredentialRenewal``); https://developers.asana.com/docs/oauth.

1. ``begin``: a PKCE verifier and the URL of ``{oauth_url}/-/oauth_authorize`` with its S256
   challenge and a random ``state``; the runtime keeps the verifier until the browser returns.
2. The person consents; Asana sends the browser back with ``code`` and ``state`` (or
   ``error=access_denied``).
3. ``complete``: ``POST {oauth_url}/-/oauth_token`` exchanges the code and the verifier for an
   access token (one hour) and a refresh token; the answer names the user.

``refresh`` asks ``/-/oauth_token`` for a new access token (Asana keeps the refresh token);
``revoke`` sends the refresh token to ``/-/oauth_revoke``, which ends every token of the grant.
The HTTP is authlib's httpx OAuth 2 client on the connector's transport; reading Asana's
answers into the runtime's errors is the runtime's ``oauth2`` module, shared with Jira.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from asana_connector.config import ENV_PREFIX, AsanaSettings
from asana_connector.secret import AsanaSecret
from tether_connector_runtime.oauth2 import OAuth2App, consent_state, expires_at
from tether_connector_runtime.port import Account, ConsentStarted
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError

# Asana's access tokens last an hour (PROVIDERS.md); used when an answer omits expires_in.
ACCESS_TOKEN_SECONDS = 3600


class AsanaOAuth:
    def __init__(
        self,
        settings: AsanaSettings,
        whoami: Callable[[str], Awaitable[tuple[str, str]]],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``whoami``: the user gid and name an access token belongs to (``GET /users/me``),
        asked only when a token answer does not name its user."""
        self._settings = settings
        self._whoami = whoami
        self._transport = transport
        self._app = OAuth2App(
            "Asana", ENV_PREFIX, settings.client_id, settings.client_secret.get_secret_value()
        )

    def _client(self) -> AsyncOAuth2Client:
        scopes = self._settings.oauth_scopes
        return self._app.client(
            self._transport,
            redirect_uri=self._settings.oauth_callback,
            # None: the permissions the app was registered with (Asana's "full permissions").
            scope=" ".join(scopes) if scopes else None,
            code_challenge_method="S256",
            # Asana reads the client's credentials from the form body.
            revocation_endpoint_auth_method="client_secret_post",
        )

    def _url(self, endpoint: str) -> str:
        return f"{self._settings.oauth_url}/-/{endpoint}"

    async def begin(self) -> ConsentStarted:
        verifier = generate_token(64)  # RFC 7636: 43 to 128 characters
        async with self._client() as client:
            url, state = client.create_authorization_url(
                self._url("oauth_authorize"), code_verifier=verifier
            )
        return ConsentStarted(authorize_url=url, state=str(state), secret=verifier)

    def state_of(self, params: Mapping[str, str]) -> str:
        """``state``; ``ValueError`` saying why when consent was refused or is incomplete."""
        return consent_state("Asana", params)

    async def complete(self, params: Mapping[str, str], secret: str) -> Account:
        """``secret``: the flow's PKCE verifier. ``PermanentProviderError`` when Asana
        refuses the code (used, expired, another verifier); ``AppRefused`` when it refuses
        the app's own credentials."""
        async with self._client() as client:
            token = await self._app.token(
                client.fetch_token(
                    self._url("oauth_token"), code=params["code"], code_verifier=secret
                )
            )
        refresh = str(token.get("refresh_token") or "")
        if not refresh:
            raise PermanentProviderError("Asana's token answer carried no refresh token")
        return await self._account(token, AsanaSecret("oauth", str(token["access_token"]), refresh))

    async def refresh(self, secret: AsanaSecret) -> Account:
        """A new access token for an OAuth secret; ``AuthRevokedError`` when Asana refuses the
        refresh token (revoked, or the app's access removed)."""
        async with self._client() as client:
            token = await self._app.token(
                client.refresh_token(
                    self._url("oauth_token"),
                    refresh_token=secret.refresh_token,
                    # Asana's own client sends it on the refresh grant too (node-asana,
                    # lib/auth/app.js accessTokenFromRefreshToken).
                    redirect_uri=self._settings.oauth_callback,
                )
            )
        # Asana answers no new refresh token: the one we hold stays valid.
        refresh = str(token.get("refresh_token") or secret.refresh_token)
        return await self._account(token, AsanaSecret("oauth", str(token["access_token"]), refresh))

    async def _account(self, token: Mapping[str, Any], secret: AsanaSecret) -> Account:
        """The account a token answer names (``data: {gid, name}``, else ``GET /users/me``),
        with its secret and when its access token expires."""
        issued = datetime.now(UTC)
        user = token.get("data") or {}
        if user.get("gid"):
            gid, name = str(user["gid"]), str(user.get("name") or "")
        else:
            gid, name = await self._whoami(secret.access_token)
        expiry = expires_at(token, issued, ACCESS_TOKEN_SECONDS)
        return Account(gid, name, secret.dumps(), expires_at=expiry)

    async def revoke(self, secret: AsanaSecret) -> None:
        async with self._client() as client:
            try:
                response = await client.revoke_token(
                    self._url("oauth_revoke"), token=secret.refresh_token
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise RetryableProviderError(f"Asana unreachable: {exc!r}") from exc
        if response.status_code >= 400:
            raise PermanentProviderError(
                f"Asana refused to revoke the grant: {response.status_code}",
                status=response.status_code,
            )
