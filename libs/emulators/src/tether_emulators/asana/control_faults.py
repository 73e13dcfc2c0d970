"""The control API's disturbances and observations that are Asana's own: the webhooks,
heartbeats, sync tokens, starting an outage of a project, changing the rate limits, the clock,
and reset. Webhook delivery (pause, drop-next, flush...), holds, the outage list, the limits in
force and the request log are every emulator's: common/faults_api.py. Tests use these instead
of sleeping."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request

from tether_emulators.asana.control_models import ClockIn, LimitsIn, OutageIn
from tether_emulators.asana.deps import Emu
from tether_emulators.asana.oauth import OAuthProvider
from tether_emulators.asana.store import JSON, asana_time
from tether_emulators.common.faults_api import Faults
from tether_emulators.common.limits import retune

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


# --- webhooks and events ----------------------------------------------------------------


@router.get("/webhooks")
async def all_webhooks(emu: Emu) -> list[JSON]:
    return [{**w.to_json(), "user": w.user_gid, "app": w.app} for w in emu.webhooks.values()]


@router.post("/webhooks/heartbeat")
async def heartbeat(emu: Emu) -> JSON:
    """Send every webhook the heartbeat Asana sends every 8 hours."""
    for webhook in list(emu.webhooks.values()):
        emu.dispatcher.heartbeat(webhook)
    return {"sent": len(emu.webhooks)}


@router.post("/events/expire-sync-tokens")
async def expire_sync_tokens(emu: Emu) -> JSON:
    """Every sync token becomes invalid: the next ``GET /events`` answers 412."""
    return {"expired": emu.events.expire_tokens()}


# --- outages, limits, clock, reset ------------------------------------------------------


@router.post("/outages")
async def start_outage(body: OutageIn, emu: Emu) -> JSON:
    """Every API request concerning the project (every one when ``project_gid`` is null)
    answers ``status`` with Asana's error body, performing nothing, until ended."""
    project = None if body.project_gid is None else emu.store.project(body.project_gid).gid
    return emu.outages.start(project, body.status).to_json()


@router.post("/rate-limits")
async def set_rate_limits(body: LimitsIn, emu: Emu) -> JSON:
    """Change limits at run time (150/min is a free domain, 1500 a paid one)."""
    return retune(emu.limiter, body)


@router.post("/clock/advance")
async def advance_clock(body: ClockIn, emu: Emu) -> JSON:
    """Move the emulator's clock forward: rate windows, token expiry, sync-token age."""
    emu.offset += body.seconds
    return {"now": asana_time(emu.now())}


@router.post("/reset")
async def reset(request: Request, emu: Emu, faults: Faults) -> JSON:
    faults.holds.clear()
    oauth = cast(OAuthProvider, request.app.state.asana_oauth)
    oauth.codes.clear()
    oauth.grants.clear()
    await emu.reset()
    return {"reset": True}
