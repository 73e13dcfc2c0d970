"""API tokens: random, shown once, stored only as a SHA-256 digest, found by that digest."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api_gateway.auth.models import ApiToken, Tenant, User, utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import (
    LAST_USED_RESOLUTION,
    InvalidInput,
    authenticate,
    issue_token,
    revoke_token,
)
from api_gateway.auth.tokens import generate_token, hash_token, token_prefix
from api_gateway.migrate import migrate
from tether_common.db import create_engine, session_factory, transaction
from tether_common.errors import Conflict, NotFound, Unauthorized


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            yield session
    finally:
        await engine.dispose()


def test_tokens_are_prefixed_random_and_hashed_with_sha256() -> None:
    tokens = {generate_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert token.startswith("tth_")
        assert len(token) == 4 + 43
        assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
        assert token_prefix(token) == token[:12]


async def test_the_raw_token_is_never_stored(session: AsyncSession) -> None:
    issued = await issue_token(
        AuthRepository(session), tenant_name="acme", email="ann@acme.test", now=utcnow()
    )
    await session.flush()

    dump = ""
    for table in ("gateway_tenants", "gateway_users", "gateway_api_tokens"):
        rows = await session.execute(select(ApiToken.metadata.tables[table]))
        dump += repr(rows.all())
    assert issued.token not in dump
    assert issued.token[12:] not in dump
    stored = await session.scalar(select(ApiToken))
    assert stored is not None
    assert stored.token_hash == hash_token(issued.token)
    assert stored.prefix == issued.prefix


async def test_a_token_identifies_its_tenant_and_user(session: AsyncSession) -> None:
    repo = AuthRepository(session)
    issued = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=utcnow())

    principal = await authenticate(repo, issued.token, now=utcnow())

    assert principal.tenant_id == issued.tenant.id
    assert principal.tenant_name == "acme"
    assert principal.email == "ann@acme.test"


async def test_tenants_and_users_are_created_once(session: AsyncSession) -> None:
    repo = AuthRepository(session)
    first = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=utcnow())
    again = await issue_token(repo, tenant_name=" acme ", email="ANN@acme.test", now=utcnow())
    other = await issue_token(repo, tenant_name="acme", email="bob@acme.test", now=utcnow())
    elsewhere = await issue_token(repo, tenant_name="globex", email="ann@acme.test", now=utcnow())

    assert (first.created_tenant, first.created_user) == (True, True)
    assert (again.created_tenant, again.created_user) == (False, False)
    assert again.user.id == first.user.id
    assert (other.created_tenant, other.created_user) == (False, True)
    assert elsewhere.tenant.id != first.tenant.id
    assert elsewhere.user.id != first.user.id
    assert len((await session.scalars(select(Tenant))).all()) == 2
    assert len((await session.scalars(select(User))).all()) == 3
    assert len({first.token, again.token, other.token, elsewhere.token}) == 4


@pytest.mark.parametrize(
    ("tenant", "email"), [("", "a@b.c"), ("acme", "not-an-email"), ("acme", "a b@c.d")]
)
async def test_invalid_tenant_or_email_is_refused(
    session: AsyncSession, tenant: str, email: str
) -> None:
    with pytest.raises(InvalidInput):
        await issue_token(AuthRepository(session), tenant_name=tenant, email=email, now=utcnow())


async def test_revoked_and_unknown_tokens_do_not_authenticate(session: AsyncSession) -> None:
    repo = AuthRepository(session)
    issued = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=utcnow())

    revoked = await revoke_token(repo, prefix=issued.prefix, now=utcnow())
    await session.flush()

    assert revoked.revoked_at is not None
    for candidate in (issued.token, generate_token(), None, ""):
        with pytest.raises(Unauthorized):
            await authenticate(repo, candidate, now=utcnow())
    with pytest.raises(NotFound):
        await revoke_token(repo, prefix=issued.prefix, now=utcnow())


async def test_revoking_an_ambiguous_prefix_revokes_nothing(session: AsyncSession) -> None:
    repo = AuthRepository(session)
    issued = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=utcnow())
    twin = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=utcnow())
    twin_row = await session.scalar(select(ApiToken).where(ApiToken.prefix == twin.prefix))
    assert twin_row is not None
    twin_row.prefix = issued.prefix
    await session.flush()

    with pytest.raises(Conflict):
        await revoke_token(repo, prefix=issued.prefix, now=utcnow())
    await authenticate(repo, issued.token, now=utcnow())
    await authenticate(repo, twin.token, now=utcnow())


async def test_last_use_is_recorded_at_most_once_a_minute(session: AsyncSession) -> None:
    repo = AuthRepository(session)
    start = utcnow()
    issued = await issue_token(repo, tenant_name="acme", email="ann@acme.test", now=start)

    async def last_used() -> object:
        session.expire_all()
        return await session.scalar(select(ApiToken.last_used_at))

    await authenticate(repo, issued.token, now=start)
    assert await last_used() == start
    await authenticate(repo, issued.token, now=start + timedelta(seconds=30))
    assert await last_used() == start
    later = start + LAST_USED_RESOLUTION + timedelta(seconds=1)
    await authenticate(repo, issued.token, now=later)
    assert await last_used() == later
