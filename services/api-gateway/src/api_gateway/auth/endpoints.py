"""``GET /v1/me``: who the token belongs to; ``PATCH /v1/me``: their time zone."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.schemas import MeOut, MePatch, TenantOut, TokenOut, UserOut
from api_gateway.auth.service import Principal, set_user_time_zone
from api_gateway.schemas import CONNECTOR_UPSTREAM, UNAUTHORIZED, invalid_input_response
from api_gateway.state import Connectors, State
from tether_common.db import transaction

router = APIRouter(prefix="/v1", tags=["auth"], responses=UNAUTHORIZED)


def me_out(principal: Principal) -> MeOut:
    return MeOut(
        tenant=TenantOut(
            id=principal.tenant_id,
            name=principal.tenant_name,
            time_zone=principal.tenant_time_zone,
        ),
        user=UserOut(
            id=principal.user_id,
            email=principal.email,
            time_zone=principal.time_zone,
            time_zone_is_own=principal.user_time_zone is not None,
        ),
        token=TokenOut(prefix=principal.token_prefix, created_at=principal.token_created_at),
    )


@router.get("/me", summary="The tenant and user of your API token")
async def me(principal: CurrentPrincipal) -> MeOut:
    return me_out(principal)


@router.patch(
    "/me",
    summary="Set your time zone",
    description="`time_zone`: an IANA name (`Pacific/Auckland`), or null for your tenant's. "
    "Your connections follow it: date-only dues are written to Trello as 12:00 that day in "
    "it from then on. Saved even when a connector cannot be told (a 503 then says so; send "
    "it again).",
    responses={
        **CONNECTOR_UPSTREAM,
        422: invalid_input_response("Not an IANA time zone name (`body.time_zone`)"),
    },
)
async def patch_me(
    body: MePatch, principal: CurrentPrincipal, state: State, connectors: Connectors
) -> MeOut:
    async with transaction(state.sessions) as session:
        await set_user_time_zone(AuthRepository(session), principal.user_id, body.time_zone)
    # The user's next lookups go to the primary for a while: a lagging replica would show
    # the zone they just replaced.
    await state.reads.wrote(principal.user_id)
    updated = replace(principal, user_time_zone=body.time_zone)
    await connectors.set_owner_zone(principal.tenant_id, principal.user_id, updated.time_zone)
    return me_out(updated)
