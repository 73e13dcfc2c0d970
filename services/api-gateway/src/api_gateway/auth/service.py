"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from api_gateway.auth.models import ApiToken, Tenant, User
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.tokens import generate_token, hash_token, looks_like_token, token_prefix
from tether_common.errors import Conflict, DomainError, NotFound, Unauthorized

# How stale last_used_at may get: fine-grained enough for "is this token still in use?".
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant scopes every request made with this token."""

    tenant_id: str
    tenant_name: str
    user_id: str
    email: str
    token_id: str
    token_prefix: str
    token_created_at: datetime
    tenant_time_zone: str = "UTC"
    user_time_zone: str | None = None  # None: the tenant's

    @property
    def time_zone(self) -> str:
        """The user's IANA zone: their own, else their tenant's (UTC unless set)."""
        return self.user_time_zone or self.tenant_time_zone


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, never stored
    prefix: str
    tenant: Tenant
    user: User
    created_tenant: bool
    created_user: bool


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


def normalise_tenant_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("tenant name must be 1 to 200 characters")
    return name


def normalise_email(email: str) -> str:
    # Lower-cased so "Ann@X.org" and "ann@x.org" cannot become two users of one tenant.
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput(f"not an email address: {email!r}")
    return email


async def issue_token(
    repo: AuthRepository, *, tenant_name: str, email: str, now: datetime
) -> IssuedToken:
    """A new token for the user, creating the tenant and the user when they are missing."""
    tenant_name, email = normalise_tenant_name(tenant_name), normalise_email(email)
    tenant = await repo.tenant_by_name(tenant_name)
    created_tenant = tenant is None
    if tenant is None:
        tenant = Tenant(name=tenant_name, created_at=now)
        await repo.add(tenant)
    user = await repo.user_by_email(tenant.id, email)
    created_user = user is None
    if user is None:
        user = User(tenant_id=tenant.id, email=email, created_at=now)
        await repo.add(user)
    token = generate_token()
    await repo.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            prefix=token_prefix(token),
            created_at=now,
        )
    )
    return IssuedToken(token, token_prefix(token), tenant, user, created_tenant, created_user)


Found = tuple[ApiToken, User, Tenant]


async def find_token(repo: AuthRepository, token: str | None) -> Found | None:
    """The active token (with its user and tenant) whose secret is ``token``; None for a
    missing, malformed, unknown or revoked one. Only reads (a read replica can answer)."""
    if not token or not looks_like_token(token):
        return None
    return await repo.active_token(hash_token(token))


def principal_of(token: str | None, found: Found | None) -> Principal:
    """The caller ``find_token`` found; ``Unauthorized`` if it found none."""
    if not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    if found is None:
        # One message for unknown and revoked tokens: no hint about which tokens exist.
        raise Unauthorized("invalid or revoked API token")
    api_token, user, tenant = found
    return Principal(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        user_id=user.id,
        email=user.email,
        token_id=api_token.id,
        token_prefix=api_token.prefix,
        token_created_at=api_token.created_at,
        tenant_time_zone=tenant.time_zone or "UTC",
        user_time_zone=user.time_zone,
    )


def needs_touch(api_token: ApiToken, now: datetime) -> bool:
    """Whether the token's last use is older than the resolution we keep it at."""
    return api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_RESOLUTION


async def touch(repo: AuthRepository, api_token: ApiToken, now: datetime) -> None:
    await repo.touch(api_token.id, now, now - LAST_USED_RESOLUTION)


async def authenticate(repo: AuthRepository, token: str | None, *, now: datetime) -> Principal:
    """Find the token's caller and record its use, in ``repo``'s one transaction."""
    found = await find_token(repo, token)
    principal = principal_of(token, found)
    if found is not None and needs_touch(found[0], now):
        await touch(repo, found[0], now)
    return principal


async def revoke_token(repo: AuthRepository, *, prefix: str, now: datetime) -> ApiToken:
    """Revoke the one active token with this display prefix."""
    active = [t for t in await repo.tokens_by_prefix(prefix.strip()) if t.revoked_at is None]
    if not active:
        raise NotFound(f"no active token with prefix {prefix!r}")
    if len(active) > 1:
        # 48 random bits make this vanishingly rare; refuse rather than revoke the wrong one.
        raise Conflict(f"{len(active)} active tokens share prefix {prefix!r}; none was revoked")
    active[0].revoked_at = now
    return active[0]


async def tokens_of_tenant(repo: AuthRepository, tenant_name: str) -> list[tuple[ApiToken, User]]:
    tenant = await repo.tenant_by_name(normalise_tenant_name(tenant_name))
    if tenant is None:
        raise NotFound(f"no tenant named {tenant_name!r}")
    return list(await repo.tokens_of_tenant(tenant.id))


async def set_user_time_zone(repo: AuthRepository, user_id: str, zone: str | None) -> None:
    """The user's own zone (an IANA name, already checked), or None for the tenant's."""
    await repo.set_user_time_zone(user_id, zone)


async def set_tenant_time_zone(repo: AuthRepository, tenant_name: str, zone: str) -> Tenant:
    tenant = await repo.tenant_by_name(normalise_tenant_name(tenant_name))
    if tenant is None:
        raise NotFound(f"no tenant named {tenant_name!r}")
    tenant.time_zone = zone
    return tenant
