"""OAuth 2.0 (3LO) grants as Atlassian keeps them
(https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ and
/work/shared/PROVIDERS.md): codes, access tokens (3600 s) and ROTATING refresh tokens.

Each refresh answers a new refresh token and spends the one used. Using a spent one again
within the 10-minute reuse leeway answers a new access token and the chain's newest refresh
token (a client that lost an answer can recover); after the leeway it revokes the whole chain.
A refresh token also dies after 90 days unused, and every chain 365 days after its consent.
A refused refresh is a 403 ``invalid_grant``: "Unknown or invalid refresh token.".
Revoking a chain leaves the access tokens already issued to run out their hour (Atlassian does
not say otherwise).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tether_emulators.common.oauth import OAuthFailure

JSON = dict[str, Any]
ACCESS_TOKEN_LIFETIME = timedelta(seconds=3600)
CODE_LIFETIME = timedelta(minutes=10)
REUSE_LEEWAY = timedelta(minutes=10)
IDLE_EXPIRY = timedelta(days=90)
ABSOLUTE_EXPIRY = timedelta(days=365)
UNKNOWN_REFRESH_TOKEN = "Unknown or invalid refresh token."


def invalid_grant(description: str = UNKNOWN_REFRESH_TOKEN) -> OAuthFailure:
    return OAuthFailure("invalid_grant", description, 403)


@dataclass
class Authorization:
    client_id: str
    redirect_uri: str
    account_id: str
    scopes: tuple[str, ...]
    issued_at: datetime


@dataclass
class AccessToken:
    account_id: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass
class Chain:
    """The refresh tokens of one consent, one after the other; ``current`` is the newest."""

    account_id: str
    client_id: str
    scopes: tuple[str, ...]
    started_at: datetime
    current: str = ""
    revoked: bool = False


@dataclass
class RefreshToken:
    chain: Chain
    issued_at: datetime
    spent_at: datetime | None = None


@dataclass
class OAuthState:
    now: Callable[[], datetime]
    codes: dict[str, Authorization] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)

    def authorize(self, client_id: str, redirect_uri: str, account_id: str, scope: str) -> str:
        """A code for the consent, to exchange within ``CODE_LIFETIME``."""
        code = secrets.token_urlsafe(24)
        scopes = tuple(scope.split())
        self.codes[code] = Authorization(client_id, redirect_uri, account_id, scopes, self.now())
        return code

    def exchange(self, client_id: str, code: str, redirect_uri: str | None) -> JSON:
        pending = self.codes.pop(code, None)  # single use
        if pending is None or pending.client_id != client_id:
            raise OAuthFailure("invalid_grant", "Invalid authorization code", 403)
        if self.now() - pending.issued_at > CODE_LIFETIME:
            raise OAuthFailure("invalid_grant", "Invalid authorization code", 403)
        if redirect_uri is not None and redirect_uri != pending.redirect_uri:
            raise OAuthFailure("invalid_grant", "Invalid redirect_uri", 403)
        chain = Chain(pending.account_id, client_id, pending.scopes, self.now())
        # Only offline_access brings a refresh token (Atlassian's "Use a refresh token").
        rotate = "offline_access" in pending.scopes
        return self._answer(chain, self._rotate(chain) if rotate else None)

    def refresh(self, client_id: str, token: str) -> JSON:
        found = self.refresh_tokens.get(token)
        now = self.now()
        if found is None or found.chain.client_id != client_id or found.chain.revoked:
            raise invalid_grant()
        chain = found.chain
        if now - found.issued_at > IDLE_EXPIRY or now - chain.started_at > ABSOLUTE_EXPIRY:
            raise invalid_grant()
        if found.spent_at is not None:
            if now - found.spent_at > REUSE_LEEWAY:
                chain.revoked = True  # a replayed token: the whole chain is compromised
                raise invalid_grant()
            return self._answer(chain, chain.current)
        found.spent_at = now
        return self._answer(chain, self._rotate(chain))

    def _rotate(self, chain: Chain) -> str:
        token = secrets.token_urlsafe(48)
        self.refresh_tokens[token] = RefreshToken(chain, self.now())
        chain.current = token
        return token

    def _answer(self, chain: Chain, refresh_token: str | None) -> JSON:
        access = secrets.token_urlsafe(48)
        self.access_tokens[access] = AccessToken(
            chain.account_id, chain.client_id, chain.scopes, self.now() + ACCESS_TOKEN_LIFETIME
        )
        answer: JSON = {
            "access_token": access,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "token_type": "Bearer",
            "scope": " ".join(chain.scopes),
        }
        if refresh_token is not None:
            answer["refresh_token"] = refresh_token
        return answer

    def access(self, token: str) -> AccessToken | None:
        """The access token if it is known and has not expired."""
        found = self.access_tokens.get(token)
        if found is None or self.now() >= found.expires_at:
            return None
        return found
