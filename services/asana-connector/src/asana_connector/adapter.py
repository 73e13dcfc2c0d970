"""Asana as a provider adapter of the connector runtime: a personal access token or OAuth 2.0
with PKCE, projects of sections of tasks (PROVIDERS.md, Asana)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import httpx
from pydantic import BaseModel, Field

from asana_connector.client import AsanaClient, asana_limiter
from asana_connector.config import AsanaSettings
from asana_connector.dialect import AsanaWebhooks
from asana_connector.mapping import description_held_as
from asana_connector.oauth import AsanaOAuth
from asana_connector.secret import AsanaSecret
from asana_connector.session import AsanaSession
from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import Account
from tether_connector_runtime.ratelimit import RateLimiter
from tether_sync import FieldName, FieldValue


class AsanaCredentials(BaseModel):
    token: str = Field(min_length=8, max_length=512, description="An Asana personal access token")


class AsanaAdapter:
    """The port's ``ProviderAdapter`` and its ``CredentialRenewal`` (OAuth tokens last an
    hour; a personal access token never expires and has nothing to revoke)."""

    provider = "asana"
    credentials: type[BaseModel] = AsanaCredentials

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: AsanaSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: how authlib's OAuth client reaches Asana (the service's own)."""
        self._http = http
        self._settings = settings
        # One limiter for every connection of this process; its budgets are per token.
        self._limiter: RateLimiter = asana_limiter(settings.requests_per_minute)
        self.webhooks = AsanaWebhooks()
        self.consent = self._oauth = AsanaOAuth(settings, self._whoami, transport)
        # Asana documents no length limit for a task's name or notes (its API reference and
        # OpenAPI document give none), so core's own limits are the only ones.
        self.field_limits: Mapping[FieldName, int] = MappingProxyType({})

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        """A description comes back in canonical Markdown (``html_notes`` keep content, not
        spelling); every other field as written."""
        if name == "description" and isinstance(value, str):
            return description_held_as(value)
        return value

    def client(self, token: str) -> AsanaClient:
        return AsanaClient(
            self._http, api_url=self._settings.api_url, token=token, limiter=self._limiter
        )

    async def _whoami(self, token: str) -> tuple[str, str]:
        """``GET /users/me``: the gid and name of the token's user."""
        me = await self.client(token).call("GET", "/users/me", params={"opt_fields": "name"})
        return str(me["gid"]), str(me.get("name") or "")

    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, AsanaCredentials)
        gid, name = await self._whoami(credentials.token)
        return Account(gid, name, AsanaSecret("pat", credentials.token).dumps())

    def session(self, secret: str, owner: Owner) -> AsanaSession:
        # Asana has date-only dues (due_on) and instants (due_at): no zone is needed.
        stored = AsanaSecret.loads(secret)
        return AsanaSession(self.client(stored.access_token), oauth=stored.oauth)

    def webhook_url(self) -> str:
        return self._settings.webhook_url

    async def refresh(self, secret: str) -> Account:
        stored = AsanaSecret.loads(secret)
        if not stored.oauth:
            # Never asked for a token without expiry; answering it unchanged is harmless.
            gid, name = await self._whoami(stored.access_token)
            return Account(gid, name, secret)
        return await self._oauth.refresh(stored)

    async def revoke(self, secret: str) -> None:
        stored = AsanaSecret.loads(secret)
        if stored.oauth:  # a personal access token is the person's to revoke in Asana
            await self._oauth.revoke(stored)
