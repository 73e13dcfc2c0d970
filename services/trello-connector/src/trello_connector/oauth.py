"""Trello's OAuth 1.0a consent page as the runtime's :class:`ConsentFlow`.

1. ``begin``: a request token from Trello (a call signed with the app key and secret that names
   our callback) and the URL of Trello's consent page for it; the runtime keeps the request
   token's secret until the browser returns.
2. The person consents; Trello sends the browser back with ``oauth_token`` (the request token,
   which names the flow) and ``oauth_verifier``.
3. ``complete``: the request token's secret signs the exchange of token and verifier for the
   person's own token, which is then checked and stored like a pasted one.

Signing is authlib's: its httpx ``OAuth1Auth`` on the connector's own HTTP client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, urlencode

import httpx
from authlib.integrations.httpx_client import OAuth1Auth

from tether_connector_runtime.api.consent import AppRefused, OAuthNotConfigured
from tether_connector_runtime.port import Account, ConsentStarted
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError
from trello_connector.config import TrelloSettings

# What the consent page shows and asks for. A token that expires deletes its webhooks
# (PROVIDERS.md), and sync needs to write cards: hence never, and read,write.
APP_NAME = "Tether"
SCOPE = "read,write"
EXPIRATION = "never"


class TrelloConsent:
    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: TrelloSettings,
        account_of: Callable[[str], Awaitable[Account]],
    ) -> None:
        """``account_of``: checks a user token with Trello (as a pasted one is)."""
        self._http = http
        self._settings = settings
        self._account_of = account_of

    async def begin(self) -> ConsentStarted:
        auth = self._app_auth(redirect_uri=self._settings.oauth_callback)
        response = await self._signed_post("OAuthGetRequestToken", auth)
        issued = _credentials(response) if response.is_success else None
        if issued is None:
            said = self._redact(response.text[:200])
            raise AppRefused(
                "Trello gave no request token (are TETHER_TRELLO_API_KEY and "
                f"TETHER_TRELLO_API_SECRET right?): {response.status_code} {said}"
            )
        request_token, request_secret = issued
        query = urlencode(
            {
                "oauth_token": request_token,
                "name": APP_NAME,
                "scope": SCOPE,
                "expiration": EXPIRATION,
            }
        )
        return ConsentStarted(
            authorize_url=f"{self._settings.oauth_url}/OAuthAuthorizeToken?{query}",
            state=request_token,
            secret=request_secret,
        )

    def state_of(self, params: Mapping[str, str]) -> str:
        if not params.get("oauth_token"):
            raise ValueError("the callback needs the oauth_token Trello sends back")
        if not params.get("oauth_verifier"):
            raise ValueError("Trello sent no oauth_verifier: consent was not given")
        return params["oauth_token"]

    async def complete(self, params: Mapping[str, str], secret: str) -> Account:
        auth = self._app_auth(
            token=params["oauth_token"], token_secret=secret, verifier=params["oauth_verifier"]
        )
        response = await self._signed_post("OAuthGetAccessToken", auth)
        granted = _credentials(response) if response.is_success else None
        if granted is None:
            said = self._redact(response.text[:200], params["oauth_token"], secret)
            raise PermanentProviderError(f"{response.status_code} {said}")
        user_token, _ = granted  # the secret only signs requests, which Tether does not
        return await self._account_of(user_token)

    def _app_auth(self, **kwargs: str) -> OAuth1Auth:
        secret = self._settings.api_secret.get_secret_value()
        if not self._settings.api_key or not secret:
            raise OAuthNotConfigured(
                "connecting through Trello needs the app key and secret: set "
                "TETHER_TRELLO_API_KEY and TETHER_TRELLO_API_SECRET"
            )
        return OAuth1Auth(self._settings.api_key, secret, **kwargs)

    def _redact(self, text: str, *secrets: str) -> str:
        """``text`` without the app's key and secret nor ``secrets``: Trello's refusals may
        quote what was sent, and these messages reach logs and API answers."""
        app = (self._settings.api_key, self._settings.api_secret.get_secret_value())
        for value in (*app, *secrets):
            if value:
                text = text.replace(value, "[redacted]")
        return text

    async def _signed_post(self, endpoint: str, auth: OAuth1Auth) -> httpx.Response:
        """POST to one of Trello's OAuth endpoints; 4xx answers are the caller's to explain."""
        try:
            response = await self._http.post(f"{self._settings.oauth_url}/{endpoint}", auth=auth)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableProviderError(f"Trello unreachable: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            said = self._redact(response.text[:200])
            raise RetryableProviderError(f"Trello {response.status_code}: {said}")
        return response


def _credentials(response: httpx.Response) -> tuple[str, str] | None:
    """``oauth_token`` and ``oauth_token_secret`` of a form-encoded token answer."""
    values = dict(parse_qsl(response.text))
    token, secret = values.get("oauth_token"), values.get("oauth_token_secret")
    return (token, secret) if token and secret else None
