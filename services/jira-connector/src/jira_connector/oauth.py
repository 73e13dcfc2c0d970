"""Atlassian's OAuth 2.0 (3LO) as the runtime's :class:`ConsentFlow`, and renewing its tokens
(the runtime's ``CredentialRenewal``);
https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ and PROVIDERS.md.

1. ``begin``: the URL of ``{auth_url}/authorize`` (``audience=api.atlassian.com``, the
   settings' scopes, ``prompt=consent``) with a random ``state``; nothing else is kept.
2. The person consents for one of their sites; Atlassian sends the browser back with ``code``
   and ``state`` (or ``error=access_denied``).
3. ``complete``: ``POST {auth_url}/oauth/token`` exchanges the code for an access token (one
   hour) and, with the ``offline_access`` scope, a refresh token;
   ``GET {api_url}/oauth/token/accessible-resources`` names the sites the grant reaches, each
   with the cloud id that calls put in ``{api_url}/ex/jira/{cloudId}/rest/api/3``; ``whoami``
   names the user.

``refresh`` asks ``/oauth/token`` for a new access token. Atlassian ROTATES refresh tokens: the
answer's refresh token replaces the one used, which is spent; offered again within 10 minutes
it is still honoured (a lost answer), later it revokes the whole chain. The runtime stores what
``refresh`` returns before anything uses it (credentials.py). Atlassian has no endpoint that
revokes a grant: ``revoke`` only says so. The HTTP is authlib's httpx OAuth 2 client on the
connector's transport; Atlassian's answers become the runtime's errors in
``tether_connector_runtime.oauth2`` (a 401 ``access_denied`` "Unauthorized" is the app refused).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client

from jira_connector.client import JiraClient
from jira_connector.config import ENV_PREFIX, JiraSettings
from jira_connector.secret import JiraSecret, account_key
from tether_connector_runtime.oauth2 import OAuth2App, consent_state, expires_at
from tether_connector_runtime.port import Account, ConsentStarted
from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError

# Atlassian's access tokens last an hour (PROVIDERS.md); used when an answer omits expires_in.
ACCESS_TOKEN_SECONDS = 3600
# The consent page's audience for every Atlassian cloud API (the 3LO page, step 1).
AUDIENCE = "api.atlassian.com"

Whoami = Callable[[JiraSecret], Awaitable[tuple[str, str]]]


class JiraOAuth:
    def __init__(
        self,
        settings: JiraSettings,
        whoami: Whoami,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``whoami``: the ``accountId`` and ``displayName`` a secret's access token belongs to
        (``GET /rest/api/3/myself`` on the secret's site), asked once, at ``complete``: no
        Atlassian token answer names its user. ``transport``: the HTTP's (None: the network)."""
        self._settings, self._whoami, self._transport = settings, whoami, transport
        self._app = OAuth2App(
            "Atlassian", ENV_PREFIX, settings.client_id, settings.client_secret.get_secret_value()
        )

    def _client(self) -> AsyncOAuth2Client:
        # No scope here: authlib would repeat it on the refresh grant, which Atlassian's
        # refresh request does not take; begin names the scopes itself.
        return self._app.client(self._transport, redirect_uri=self._settings.oauth_callback)

    def _url(self, path: str) -> str:
        return f"{self._settings.auth_url.rstrip('/')}{path}"

    async def begin(self) -> ConsentStarted:
        """The consent page's URL and its ``state``; ``secret`` is empty (Atlassian's code
        grant has no PKCE verifier to keep). ``OAuthNotConfigured`` without the app's id and
        secret."""
        async with self._client() as client:
            url, state = client.create_authorization_url(
                self._url("/authorize"),
                scope=" ".join(self._settings.oauth_scopes),
                audience=AUDIENCE,
                prompt="consent",  # in Atlassian's documented URL: the consent screen shows
            )
        return ConsentStarted(authorize_url=url, state=str(state), secret="")

    def state_of(self, params: Mapping[str, str]) -> str:
        """``state``; ``ValueError`` saying why when consent was refused (``error``) or the
        return lacks its ``code`` or ``state``."""
        return consent_state("Atlassian", params)

    async def complete(self, params: Mapping[str, str], secret: str) -> Account:
        """The account of a consent: ``<accountId>@<site host>`` (``account_key``),
        named ``"<displayName> (<site host>)"``, its :class:`JiraSecret` (``oauth``) and when
        its access token expires. ``secret``: unused (``begin`` keeps none).

        ``PermanentProviderError`` when Atlassian refuses the code (used, expired, another
        ``redirect_uri``: ``AuthRevokedError``, a kind of it), when it sent no refresh token
        (the ``offline_access`` scope is missing) or when the grant reaches no Jira site;
        ``AppRefused`` when it refuses the app's credentials; ``RetryableProviderError`` when
        it may work later."""
        issued = datetime.now(UTC)  # before asking: the expiry is never later than Atlassian's
        async with self._client() as client:
            token = await self._app.token(
                client.fetch_token(self._url("/oauth/token"), code=params["code"])
            )
        offline = str(token.get("refresh_token") or "")
        if not offline:
            raise PermanentProviderError(
                "Atlassian sent no refresh token: the app must ask for the offline_access scope "
                f"({ENV_PREFIX}OAUTH_SCOPES) to keep the connection past an hour"
            )
        access = str(token["access_token"])
        cloud_id, site_url = await self._site(access)
        jira = JiraSecret(
            "oauth", site_url, cloud_id=cloud_id, access_token=access, refresh_token=offline
        )
        account_id, name = await self._whoami(jira)
        host = urlsplit(site_url).netloc or site_url
        return Account(
            account_key(account_id, site_url),
            f"{name} ({host})" if name else host,
            jira.dumps(),
            expires_at=expires_at(token, issued, ACCESS_TOKEN_SECONDS),
        )

    async def _site(self, access_token: str) -> tuple[str, str]:
        """The cloud ``id`` and ``url`` of the first Jira site the token reaches
        (``GET {api_url}/oauth/token/accessible-resources``: ``[{"id", "url", "name",
        "scopes", "avatarUrl"}]``, the 3LO page, step 3)."""
        async with httpx.AsyncClient(transport=self._transport, timeout=30.0) as http:
            resources = await JiraClient(
                http,
                api_url=self._settings.api_url,
                authorization=f"Bearer {access_token}",
                secret=access_token,
                limiter=None,
            ).call("GET", "/oauth/token/accessible-resources")
        site = first_jira_site(resources if isinstance(resources, list) else [])
        if site is None:
            raise PermanentProviderError(
                "the Atlassian grant reaches no Jira site: consent again and choose a site "
                "that has Jira (a Confluence-only site cannot be synced)"
            )
        return site

    async def refresh(self, secret: JiraSecret) -> Account:
        """A new access token for an ``oauth`` secret, with the refresh token Atlassian
        rotated in (the old one is spent); ``cloud_id`` and ``site_url`` kept.

        The account's ``account_id`` and ``account_name`` are empty: no refresh answer names
        the user, and the runtime keeps the connection's own (credentials.py reads only
        ``secret`` and ``expires_at``), so no ``/myself`` call is spent on a renewal.
        ``AuthRevokedError`` when Atlassian refuses the refresh token (403 ``invalid_grant``:
        revoked, idle 90 days, a year old, or a spent one reused after the leeway, which
        revokes the chain); ``RetryableProviderError`` on a 5xx, a timeout or a network
        failure."""
        if not secret.oauth or not secret.refresh_token:
            raise AuthRevokedError("the stored Jira credentials have no refresh token")
        issued = datetime.now(UTC)
        async with self._client() as client:
            token = await self._app.token(
                client.refresh_token(self._url("/oauth/token"), refresh_token=secret.refresh_token)
            )
        # An app that has rotating refresh tokens off keeps its token (Atlassian answers none).
        rotated = str(token.get("refresh_token") or secret.refresh_token)
        renewed = dataclasses.replace(
            secret, access_token=str(token["access_token"]), refresh_token=rotated
        )
        return Account(
            "", "", renewed.dumps(), expires_at=expires_at(token, issued, ACCESS_TOKEN_SECONDS)
        )

    async def revoke(self, secret: JiraSecret) -> None:
        """Nothing to call: Atlassian documents no revocation endpoint for 3LO grants (the 3LO
        page has ``/authorize`` and ``/oauth/token`` alone). The person removes the
        app from their Atlassian account's "Connected apps"
        (https://id.atlassian.com/manage-profile/apps), or a site admin revokes their grant
        under admin.atlassian.com
        (https://support.atlassian.com/security-and-access-policies/docs/manage-your-users-third-party-apps/).
        Left alone, the forgotten refresh token dies after 90 days unused."""


def first_jira_site(resources: Sequence[Any]) -> tuple[str, str] | None:
    """``(id, url)`` of the first accessible resource granted a Jira scope (classic
    ``read:jira-work``, granular ``read:issue:jira``: both name Jira); None when none is."""
    for resource in resources:
        if not isinstance(resource, dict) or not resource.get("id") or not resource.get("url"):
            continue
        if any("jira" in str(scope) for scope in resource.get("scopes") or []):
            return str(resource["id"]), str(resource["url"]).rstrip("/")
    return None
