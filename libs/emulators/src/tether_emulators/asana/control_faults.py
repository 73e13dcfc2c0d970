"""The control API's disturbances and observations: webhook delivery (pause, lose, flush,
heartbeats), sync tokens, withheld answers (holds), outages, rate limits, the clock, the
request log, and reset. Tests use these instead of sleeping."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request

from tether_emulators.asana.control_models import ClockIn, HoldIn, LimitsIn, OutageIn
from tether_emulators.asana.deps import Emu
from tether_emulators.asana.errors import bad_request
from tether_emulators.asana.gate import is_api_path
from tether_emulators.asana.limits import LimitConfig
from tether_emulators.asana.oauth import OAuthProvider
from tether_emulators.asana.store import JSON, asana_time
from tether_emulators.trello.holds import ResponseHolds

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


def holds_of(request: Request) -> ResponseHolds:
    return cast(ResponseHolds, request.app.state.asana_holds)


Holds = Annotated[ResponseHolds, Depends(holds_of)]


# --- webhooks and events ----------------------------------------------------------------


@router.get("/webhooks")
async def all_webhooks(emu: Emu) -> list[JSON]:
    return [{**w.to_json(), "user": w.user_gid, "app": w.app} for w in emu.webhooks.values()]


@router.get("/webhooks/deliveries")
async def deliveries(emu: Emu) -> list[JSON]:
    return [delivery.to_json() for delivery in emu.dispatcher.deliveries]


@router.post("/webhooks/pause")
async def pause_webhooks(emu: Emu) -> JSON:
    """Hold deliveries back (a slow queue) until resumed."""
    emu.dispatcher.paused = True
    return {"paused": True}


@router.post("/webhooks/resume")
async def resume_webhooks(emu: Emu) -> JSON:
    return {"paused": False, "released": emu.dispatcher.resume()}


@router.post("/webhooks/drop-next")
async def drop_next(emu: Emu, count: Annotated[int, Query(ge=0)] = 1) -> JSON:
    """Lose the next ``count`` deliveries for good: Asana delivers at most once."""
    emu.dispatcher.drop_next = count
    return {"drop_next": count}


@router.post("/webhooks/flush")
async def flush_webhooks(emu: Emu) -> JSON:
    """Answer once every delivery in flight (retries included) has finished."""
    await emu.dispatcher.flush()
    return {"flushed": True}


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


# --- withheld answers -------------------------------------------------------------------


@router.get("/holds")
async def get_holds(holds: Holds) -> JSON:
    return holds.to_json()


@router.post("/holds")
async def arm_hold(body: HoldIn, holds: Holds) -> JSON:
    """Perform the next ``count`` requests to ``method path`` but withhold their answers: the
    client hangs until ``/holds/release`` or until it hangs up (or dies)."""
    if not is_api_path(body.path):
        # Holding the control API could withhold the very call that releases it.
        raise bad_request("path: Only /api/1.0 paths can be held")
    return holds.arm(body.method, body.path, body.count).to_json()


@router.post("/holds/release")
async def release_holds(holds: Holds) -> JSON:
    return {"released": holds.release()}


@router.delete("/holds")
async def clear_holds(holds: Holds) -> JSON:
    return {"disarmed": holds.disarm(), "released": holds.release()}


# --- outages, limits, clock, log, reset -------------------------------------------------


@router.get("/outages")
async def get_outages(emu: Emu) -> list[JSON]:
    return emu.outages.to_json()


@router.post("/outages")
async def start_outage(body: OutageIn, emu: Emu) -> JSON:
    """Every API request concerning the project (every one when ``project_gid`` is null)
    answers ``status`` with Asana's error body, performing nothing, until ended."""
    project = None if body.project_gid is None else emu.store.project(body.project_gid).gid
    return emu.outages.start(project, body.status).to_json()


@router.delete("/outages")
async def end_outages(emu: Emu) -> JSON:
    return {"ended": emu.outages.end_all()}


def _limits_json(config: LimitConfig) -> JSON:
    return {
        "per_minute": config.per_minute,
        "max_concurrent_reads": config.max_concurrent_reads,
        "max_concurrent_writes": config.max_concurrent_writes,
        "window_seconds": config.window_seconds,
    }


@router.get("/rate-limits")
async def get_rate_limits(emu: Emu) -> JSON:
    return _limits_json(emu.limiter.config)


@router.post("/rate-limits")
async def set_rate_limits(body: LimitsIn, emu: Emu) -> JSON:
    """Change limits at run time (150/min is a free domain, 1500 a paid one)."""
    config = emu.limiter.config
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(config, name, value)
    emu.limiter.reset()
    return _limits_json(config)


@router.post("/clock/advance")
async def advance_clock(body: ClockIn, emu: Emu) -> JSON:
    """Move the emulator's clock forward: rate windows, token expiry, sync-token age."""
    emu.offset += body.seconds
    return {"now": asana_time(emu.now())}


@router.get("/requests")
async def requests_log(emu: Emu, since: int = 0) -> list[JSON]:
    """The API calls received (method, path, status), oldest first; ``since`` is a ``seq``."""
    return [entry for entry in emu.requests if entry["seq"] > since]


@router.delete("/requests")
async def clear_requests(emu: Emu) -> JSON:
    emu.requests.clear()
    return {"cleared": True}


@router.post("/reset")
async def reset(request: Request, emu: Emu, holds: Holds) -> JSON:
    holds.disarm()
    holds.release()
    oauth = cast(OAuthProvider, request.app.state.asana_oauth)
    oauth.codes.clear()
    oauth.grants.clear()
    await emu.reset()
    return {"reset": True}
