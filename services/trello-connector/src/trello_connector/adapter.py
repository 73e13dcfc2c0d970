"""Trello as a provider adapter of the connector runtime: a pasted user token or OAuth 1.0a,
one app key, boards of lists of cards (PROVIDERS.md, Trello)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import BaseModel, Field

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import Account
from tether_connector_runtime.ratelimit import RateLimiter
from tether_sync import FieldName, FieldValue
from trello_connector.client import TrelloClient, trello_limiter
from trello_connector.config import TrelloSettings
from trello_connector.dialect import TrelloWebhooks
from trello_connector.mapping import marked_desc
from trello_connector.oauth import TrelloConsent
from trello_connector.session import TrelloSession

# Trello refuses a card's ``name`` or ``desc`` over 16384 characters with a 400, it does not
# truncate (PROVIDERS.md, Trello: "`desc` and `name` are rejected above 16384 characters").
TRELLO_TEXT_MAX = 16_384
# The longest link id the connector stores (its links table): the marker naming it is the
# room a description must leave.
_LONGEST_LINK_ID = "x" * 64
# What ``marked_desc`` adds to a description: a blank line and the marker.
MARKER_ROOM = len(marked_desc("d", _LONGEST_LINK_ID)) - len("d")
FIELD_LIMITS: Mapping[FieldName, int] = {
    "title": TRELLO_TEXT_MAX,
    "description": TRELLO_TEXT_MAX - MARKER_ROOM,
}
"""The port's ``field_limits`` for Trello: ``name`` whole, ``desc`` less our marker's room."""


class TrelloCredentials(BaseModel):
    token: str = Field(min_length=8, max_length=512, description="A Trello user token")


class TrelloAdapter:
    provider = "trello"
    credentials: type[BaseModel] = TrelloCredentials

    def __init__(self, http: httpx.AsyncClient, settings: TrelloSettings) -> None:
        self._http = http
        self._settings = settings
        # One limiter for every account: the app key's budget is shared by all of them.
        self._limiter: RateLimiter = trello_limiter(settings.key_limit, settings.token_share)
        self._webhooks = TrelloWebhooks(settings.api_secret.get_secret_value())
        self._consent = TrelloConsent(http, settings, self._account_of)

    def client(self, token: str) -> TrelloClient:
        return TrelloClient(
            self._http,
            api_url=self._settings.api_url,
            key=self._settings.api_key,
            token=token,
            limiter=self._limiter,
        )

    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, TrelloCredentials)
        return await self._account_of(credentials.token)

    async def _account_of(self, token: str) -> Account:
        member = await self.client(token).me()
        name = str(member.get("username") or member.get("fullName") or "")
        return Account(account_id=str(member["id"]), account_name=name, secret=token)

    def session(self, secret: str, owner: Owner) -> TrelloSession:
        return TrelloSession(self.client(secret), owner=owner)

    def webhook_url(self) -> str:
        return self._settings.webhook_url

    @property
    def webhooks(self) -> TrelloWebhooks:
        return self._webhooks

    @property
    def consent(self) -> TrelloConsent:
        return self._consent

    @property
    def field_limits(self) -> Mapping[FieldName, int]:
        return FIELD_LIMITS

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        return value  # a card holds what was written (our marker is read off it)
