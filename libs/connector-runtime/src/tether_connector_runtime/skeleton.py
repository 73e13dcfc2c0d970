"""An adapter for a provider whose connector is not built yet: the service runs on the runtime
(health, metrics, the internal API, the bus) but refuses every connection, plainly."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import Account, Delivery, ProviderSession
from tether_connector_runtime.retry import PermanentProviderError
from tether_connector_runtime.signatures import SignatureInvalid
from tether_sync import FieldName, FieldValue


class AnyCredentials(BaseModel):
    model_config = ConfigDict(extra="allow")


class NotYetConnectable:
    """Every connection attempt is refused with the reason; nothing else can be reached."""

    credentials: type[BaseModel] = AnyCredentials
    consent = None
    per_webhook_url = False

    def __init__(self, provider: str, public_url: str) -> None:
        self.provider = provider
        self._public_url = public_url.rstrip("/")

    async def authenticate(self, credentials: BaseModel) -> Account:
        raise PermanentProviderError(f"{self.provider} connections are not available yet")

    def session(self, secret: str, owner: Owner) -> ProviderSession:
        raise PermanentProviderError(f"{self.provider} connections are not available yet")

    def webhook_url(self) -> str:
        return f"{self._public_url}/webhooks/{self.provider}"

    @property
    def webhooks(self) -> NotYetConnectable:
        return self

    @property
    def field_limits(self) -> Mapping[FieldName, int]:
        return {}  # nothing is ever written: the provider's adapter declares its own

    def held_as(self, name: FieldName, value: FieldValue, owner: Owner) -> FieldValue:
        return value  # nothing is ever written

    async def handshake(self, request: Request) -> Response | None:
        return None

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        raise SignatureInvalid(f"{self.provider} registers no webhooks yet")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        raise ValueError(f"{self.provider} registers no webhooks yet")
