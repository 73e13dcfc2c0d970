"""``GET /v1/me``: who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.auth.schemas import MeOut, TenantOut, TokenOut, UserOut
from api_gateway.schemas import UNAUTHORIZED

router = APIRouter(prefix="/v1", tags=["auth"], responses=UNAUTHORIZED)


@router.get("/me", summary="The tenant and user of your API token")
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        tenant=TenantOut(id=principal.tenant_id, name=principal.tenant_name),
        user=UserOut(id=principal.user_id, email=principal.email),
        token=TokenOut(prefix=principal.token_prefix, created_at=principal.token_created_at),
    )
