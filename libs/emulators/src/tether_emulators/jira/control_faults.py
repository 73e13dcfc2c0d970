"""The control API's parts that are Jira's own: the webhooks registered, starting an outage of
a project, changing the rate limits, the clock, and reset. Webhook delivery (pause, drop-next,
flush...), holds, the outage list, the limits in force and the request log are every
emulator's: common/faults_api.py. Tests use these instead of sleeping."""

from __future__ import annotations

from fastapi import APIRouter

from tether_emulators.common.faults_api import Faults
from tether_emulators.common.limits import retune
from tether_emulators.jira.control_models import ClockIn, LimitsIn, OutageIn
from tether_emulators.jira.deps import JSON, Emu
from tether_emulators.jira.store import jira_time

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


@router.get("/webhooks")
async def all_webhooks(emu: Emu) -> list[JSON]:
    """Every webhook, expired ones too, with its kind, owner, app and expiry."""
    now = emu.now()
    return [
        {
            "id": w.id,
            "kind": w.kind,
            "url": w.url,
            "events": w.events,
            "jqlFilter": w.jql,
            "owner": w.owner,
            "app": w.app,
            "signed": w.secret is not None,
            "expires": jira_time(w.expires_at) if w.expires_at else None,
            "expired": w.expired(now),
        }
        for w in emu.webhooks.values()
    ]


@router.post("/outages")
async def start_outage(body: OutageIn, emu: Emu) -> JSON:
    """Every API request concerning the project (every one when ``project_key`` is null)
    answers ``status``, performing nothing, until ended."""
    key = None if body.project_key is None else emu.store.project(body.project_key).key
    return emu.outages.start(key, body.status).to_json()


@router.post("/rate-limits")
async def set_rate_limits(body: LimitsIn, emu: Emu) -> JSON:
    """Change limits at run time (e.g. ``issue_writes`` per ``issue_window_seconds``)."""
    return retune(emu.limiter, body)


@router.post("/clock/advance")
async def advance_clock(body: ClockIn, emu: Emu) -> JSON:
    """Move the emulator's clock: rate windows, token and webhook expiry, ``updated``."""
    emu.offset += body.seconds
    return {"now": jira_time(emu.now())}


@router.post("/reset")
async def reset(emu: Emu, faults: Faults) -> JSON:
    faults.holds.clear()
    await emu.reset()
    return {"reset": True}
