"""A fake provider whose credentials expire and whose webhooks each have their own URL and
secret: an OAuth 2 provider as Asana and Jira are, for tests of the runtime's renewal,
revocation and per-webhook intake."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from tether_connector_runtime.port import Account, RegisteredWebhook
from tether_connector_runtime.testing.fake_provider import FakeCredentials, FakeProvider
from tether_connector_runtime.testing.fake_webhooks import FakeWebhooks
from tether_connector_runtime.testing.faults import revoked
from tether_sync import Provider

# Called inside the registering call with the callback URL and the webhook's new secret, as
# Asana POSTs its handshake to the target before it answers ``POST /webhooks``.
Handshake = Callable[[str, str], Awaitable[None]]


class OAuthFakeProvider(FakeProvider):
    """A :class:`FakeProvider` that can renew (``port.CredentialRenewal``).

    Connecting with ``{"token": t}`` grants ``grant-t``; a secret is ``<grant>:<n>``, the
    ``n``-th access token of that grant, good for ``lifetime`` seconds of ``clock`` (the
    runtime's manual clock, so expiry is the test's to decide; None: for ever, as a personal
    access token). :meth:`refresh` issues the next
    one; ``rotating``: only the latest secret may be refreshed, and an older one offered
    revokes the whole grant (Jira's rotating refresh tokens, without their leeway).
    :meth:`revoke` ends a grant. ``handshake``: what a webhook's registration calls back."""

    def __init__(
        self,
        provider: Provider = "asana",
        *,
        clock: Callable[[], datetime],
        lifetime: float | None = 3600.0,
        rotating: bool = False,
    ) -> None:
        super().__init__(provider, webhook_url=f"http://tether.test/webhooks/{provider}")
        self.clock = clock
        self.lifetime = None if lifetime is None else timedelta(seconds=lifetime)
        self.rotating = rotating
        self.latest: dict[str, int] = {}  # grant -> its newest access token's number
        self.expiry: dict[str, datetime] = {}  # secret -> when it stops working
        self.revoked_grants: set[str] = set()
        self.refreshed: list[str] = []  # the secrets refreshed, in order
        self.handshake: Handshake | None = None
        self.hook_secrets: dict[str, str] = {}  # container id -> its webhook's secret
        self._webhooks = FakeWebhooks("unused: every webhook has its own", per_webhook_url=True)

    async def authenticate(self, credentials: BaseModel) -> Account:
        assert isinstance(credentials, FakeCredentials)
        grant = f"grant-{credentials.token}"
        self.revoked_grants.discard(grant)
        return self._issued(grant, credentials.token, 0)

    async def refresh(self, secret: str) -> Account:
        await self._enter("refresh", None)
        grant, number = _parsed(secret)
        if grant in self.revoked_grants:
            raise revoked(f"the grant {grant} is revoked")
        if self.rotating and number != self.latest[grant]:
            self.revoked_grants.add(grant)
            raise revoked(f"refresh token {secret} was used already: the grant is revoked")
        self.refreshed.append(secret)
        account = self._issued(grant, grant.removeprefix("grant-"), self.latest[grant] + 1)
        await self._leave("refresh", None)
        return account

    async def revoke(self, secret: str) -> None:
        await self._enter("revoke", None)
        self.revoked_grants.add(_parsed(secret)[0])
        await self._leave("revoke", None)

    def expire(self, secret: str) -> None:
        """The provider stops taking ``secret`` now, before the expiry it announced."""
        self.expiry[secret] = self.clock()

    def refusal(self, token: str) -> str | None:
        grant, _ = _parsed(token)
        if grant in self.revoked_grants:
            return f"the grant {grant} is revoked"
        expires = self.expiry.get(token)
        if expires is not None and self.clock() >= expires:
            return f"the access token {token} has expired"
        return super().refusal(token)

    async def registered(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        hook = await super().registered(container_id, callback_url)
        secret = self.hook_secrets.setdefault(container_id, f"secret-of-{hook.webhook_id}")
        if self.handshake is not None:
            await self.handshake(callback_url, secret)
        return RegisteredWebhook(hook.webhook_id, secret)

    def _issued(self, grant: str, token: str, number: int) -> Account:
        secret = f"{grant}:{number}"
        self.latest[grant] = number
        expires = None if self.lifetime is None else self.clock() + self.lifetime
        if expires is not None:
            self.expiry[secret] = expires
        return Account(
            account_id=f"account-{token}",
            account_name=f"Account {token}",
            secret=secret,
            expires_at=expires,
        )


def _parsed(secret: str) -> tuple[str, int]:
    grant, _, number = secret.rpartition(":")
    return grant, int(number)
