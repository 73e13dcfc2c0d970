"""Jira Cloud as a provider adapter of the connector runtime: an API token (Basic auth against
the site) or OAuth 2.0 (3LO); projects of issues moved through workflows (PROVIDERS.md, Jira
Cloud)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator

from jira_connector.adf import description_held_as
from jira_connector.changes import Watermarks
from jira_connector.client import JiraClient, basic_authorization, jira_limiter
from jira_connector.config import JiraSettings
from jira_connector.dialect import JiraWebhooks
from jira_connector.hooks import JiraHooks
from jira_connector.mapping import FIELD_LIMITS
from jira_connector.oauth import JiraOAuth
from jira_connector.secret import JiraSecret, account_key
from jira_connector.session import JiraSession
from jira_connector.transitions import CACHE_NAME, WORKFLOWS_KEPT, Graph, WorkflowMap
from tether_common.lru import BoundedCache
from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import Account, ConsentFlow
from tether_connector_runtime.public_urls import secure_oauth_base
from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.retry import PermanentProviderError
from tether_sync import FieldName, FieldValue


class JiraCredentials(BaseModel):
    site_url: str = Field(
        min_length=8, max_length=255, description="The site, e.g. https://acme.atlassian.net"
    )
    email: str = Field(min_length=3, max_length=254, description="The Atlassian account's email")
    api_token: SecretStr = Field(
        min_length=8, max_length=512, description="An API token of that Atlassian account"
    )

    @field_validator("site_url")
    @classmethod
    def _https(cls, value: str) -> str:
        # The API token travels to it with every call.
        base = secure_oauth_base(value.strip())
        parts = urlsplit(base)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the site's root URL, e.g. https://acme.atlassian.net")
        return base


class JiraAdapter:
    """The port's ``ProviderAdapter``. Sessions share one rate limiter, and per site what is
    learnt of its workflows; a user's profile time zone (JQL reads dates in it) is asked once."""

    provider = "jira"
    credentials: type[BaseModel] = JiraCredentials

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: JiraSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: how authlib's OAuth client reaches Atlassian (the service's own)."""
        self._http = http
        self._settings = settings
        self._limiter: RateLimiter = jira_limiter()
        # One bounded cache of what is learnt of workflows, for every site's connections.
        self._workflows: BoundedCache[tuple[str, str, str], Graph] = BoundedCache(
            CACHE_NAME, WORKFLOWS_KEPT
        )
        self._zones: dict[str, ZoneInfo] = {}
        self.webhooks = JiraWebhooks(settings.client_id, settings.client_secret.get_secret_value())
        self.consent: ConsentFlow | None
        self.consent = self._oauth = JiraOAuth(settings, self.whoami, transport)
        self.field_limits: Mapping[FieldName, int] = MappingProxyType(dict(FIELD_LIMITS))

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        """A description comes back in canonical Markdown (ADF keeps structure, not
        spelling); a due instant as its date where it was written (Jira's due date has no
        time: the session writes the owner's day); every other field as written."""
        if name == "description" and isinstance(value, str):
            return description_held_as(value)
        if name == "due" and isinstance(value, datetime):
            return value.astimezone(owner.reading_zones[0]).date()
        return value

    def webhook_url(self) -> str:
        return self._settings.webhook_url

    def api_base(self, secret: JiraSecret) -> str:
        """Where the REST API v3 is for this secret: the site (Basic), or Atlassian's API
        gateway for the site's cloud id (OAuth)."""
        if secret.oauth:
            return f"{self._settings.api_url.rstrip('/')}/ex/jira/{secret.cloud_id}"
        return secret.site_url.rstrip("/")

    def client(self, secret: JiraSecret, api: str = "/rest/api/3") -> JiraClient:
        if secret.oauth:
            authorization = f"Bearer {secret.access_token}"
        else:
            authorization = basic_authorization(str(secret.email), str(secret.api_token))
        return JiraClient(
            self._http,
            api_url=self.api_base(secret) + api,
            authorization=authorization,
            secret=secret.credential,
            limiter=self._limiter,
        )

    async def whoami(self, secret: JiraSecret) -> tuple[str, str]:
        """``GET /myself``: the account id and name (the profile's zone is kept too)."""
        me = await self.client(secret).call("GET", "/myself")
        self._zones[self._who(secret)] = _zone(me.get("timeZone"))
        return str(me["accountId"]), str(me.get("displayName") or "")

    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, JiraCredentials)
        self._check_site(credentials.site_url)
        secret = JiraSecret.basic(
            credentials.site_url, credentials.email, credentials.api_token.get_secret_value()
        )
        account_id, name = await self.whoami(secret)
        # Admin webhooks need Administer Jira; without it the connection polls (PROVIDERS.md).
        answer = await self.client(secret).call(
            "GET", "/mypermissions", params={"permissions": "ADMINISTER"}
        )
        admin = bool(
            ((answer or {}).get("permissions") or {}).get("ADMINISTER", {}).get("havePermission")
        )
        return Account(
            account_key(account_id, secret.site_url),
            name,
            secret.dumps(),
            delivery="webhook" if admin else "polling",
        )

    def _check_site(self, site_url: str) -> None:
        host = (urlsplit(site_url).hostname or "").lower()
        allowed = self._settings.site_hosts
        if not any(_host_matches(host, pattern) for pattern in allowed):
            raise PermanentProviderError(
                f"{host} is not a Jira Cloud site this Tether may call (TETHER_JIRA_SITE_HOSTS: "
                f"{', '.join(allowed)})",
                status=400,
            )

    def session(self, secret: str, owner: Owner) -> JiraSession:
        stored = JiraSecret.loads(secret)
        client = self.client(stored)

        async def zone() -> ZoneInfo:
            who = self._who(stored)
            if who not in self._zones:
                await self.whoami(stored)
            return self._zones[who]

        return JiraSession(
            client,
            site_url=stored.site_url,
            zone=owner.zone,
            workflows=WorkflowMap(stored.site_url, self._workflows),
            hooks=JiraHooks(
                client,
                self.client(stored, "/rest/webhooks/1.0"),
                self._settings.webhook_url if stored.oauth else None,
            ),
            watermarks=Watermarks(client, zone),
        )

    async def refresh(self, secret: str) -> Account:
        """A new access token and the ROTATED refresh token (the runtime stores them before
        use); an API token never expires and is answered unchanged."""
        stored = JiraSecret.loads(secret)
        if not stored.oauth:
            return Account("", "", secret)
        return await self._oauth.refresh(stored)

    async def revoke(self, secret: str) -> None:
        stored = JiraSecret.loads(secret)
        if stored.oauth:  # an API token is the person's to revoke at id.atlassian.com
            await self._oauth.revoke(stored)

    @staticmethod
    def _who(secret: JiraSecret) -> str:
        return f"{secret.site_url}|{secret.email or secret.cloud_id}|{secret.kind}"


def _zone(name: object) -> ZoneInfo:
    """A profile's time zone; UTC when Jira names none we know."""
    try:
        return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _host_matches(host: str, pattern: str) -> bool:
    """``.example.net`` matches its subdomains; any other pattern that host alone."""
    pattern = pattern.lower()
    return host.endswith(pattern) if pattern.startswith(".") else host == pattern
