"""The caller, from the ``Authorization: Bearer`` header."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import (
    Found,
    Principal,
    find_token,
    needs_touch,
    principal_of,
    touch,
)
from api_gateway.state import State
from tether_common.db import transaction

# Token lookups are not pinned by key (the token's user is known only once it is found):
# a user's own writes pin the user's id, checked after the lookup.
USER_PINS = "tokens"

# auto_error=False: FastAPI's own error would be a 403 without our error body; we answer 401.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token (`tth_...`) from `tether token create --tenant T --email E`",
)


async def current_principal(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credentials.credentials if credentials else None

    async def lookup(session: AsyncSession) -> Found | None:
        return await find_token(AuthRepository(session), token)

    # Short transactions of their own: none may stay open (holding a pooled connection, or on
    # SQLite the write lock) while the request then waits on task-core. The lookup may be
    # answered by the read replica; a token it does not know may have been created a moment
    # ago, and a user who changed their profile a moment ago must see the change: both are
    # asked of the primary.
    found = await state.reads.read(USER_PINS, lookup)
    replicated = state.reads.replica is not None
    if replicated and (found is None or state.reads.pins.get(found[1].id) is not None):
        found = await state.reads.on_primary(lookup)
    principal = principal_of(token, found)
    now = utcnow()
    if found is not None and needs_touch(found[0], now):
        async with transaction(state.sessions) as session:
            await touch(AuthRepository(session), found[0], now)
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
