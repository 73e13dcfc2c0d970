"""The caller, from the ``Authorization: Bearer`` header."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import Principal, authenticate
from api_gateway.state import State
from tether_common.db import transaction

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
    # A short transaction of its own: it must not stay open (holding a pooled connection, or on
    # SQLite the write lock) while the request then waits on task-core.
    async with transaction(state.sessions) as session:
        principal = await authenticate(
            AuthRepository(session), credentials.credentials if credentials else None, now=utcnow()
        )
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
