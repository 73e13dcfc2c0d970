"""The control routes every emulator shares under ``/_emulator``: webhook delivery (deliveries,
repeat, pause, resume, drop-next, flush), withheld answers (holds), outages (list and end), the rate
limits in force and the request log. Not part of any provider: a remote control for tests and
the sandbox, neither authenticated nor rate limited, and never in the request log.

Each provider keeps the routes whose bodies are its own: starting an outage (the scope is a
board or a project), changing the rate limits, the overview, seeding and reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tether_emulators.common.emulator import Emulator
from tether_emulators.common.holds import HoldingMiddleware, ResponseHolds
from tether_emulators.common.limits import limits_json
from tether_emulators.common.provider import Provider

JSON = dict[str, Any]


@dataclass(frozen=True)
class FaultControls:
    """What the shared routes act on (the emulator's parts and the app's holds), and the
    provider's facts they need."""

    emulator: Emulator
    holds: ResponseHolds
    provider: Provider[Any, Any]


def install_faults(app: FastAPI, emulator: Emulator, provider: Provider[Any, Any]) -> None:
    """Serve the shared routes and withhold answers as armed.

    Call it after adding the provider's gate: the holding middleware must be the outermost, so
    that a held request has been through the gate like any other (see holds).
    """
    faults = FaultControls(emulator, ResponseHolds(), provider)
    app.state.faults = faults
    app.include_router(router)
    app.add_middleware(HoldingMiddleware, holds=faults.holds, applies_to=provider.can_hold)


def faults_of(request: Request) -> FaultControls:
    """The ``FaultControls`` of the app serving ``request`` (for the providers' own routes)."""
    return cast(FaultControls, request.app.state.faults)


Faults = Annotated[FaultControls, Depends(faults_of)]

router = APIRouter(prefix="/_emulator", tags=["emulator control"])


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str
    # An API path as the client sends it, e.g. /1/cards or /api/1.0/tasks.
    path: str
    count: int = Field(1, ge=1)


# --- webhook delivery ----------------------------------------------------------------------


@router.get("/webhooks/deliveries")
async def deliveries(faults: Faults) -> list[JSON]:
    """Every delivery logged, oldest first, with each attempt's outcome."""
    return [delivery.to_json() for delivery in faults.emulator.dispatcher.deliveries]


@router.post("/webhooks/deliveries/{delivery_id}/repeat")
async def repeat_delivery(delivery_id: int, faults: Faults) -> JSON:
    """Send a logged delivery again, byte for byte, under a new id (a provider retrying a
    delivery whose answer it never heard): the receiver must take it as a duplicate."""
    again = faults.emulator.dispatcher.repeat(delivery_id)
    if again is None:
        raise HTTPException(404, f"no delivery {delivery_id} is logged")
    return dict(again.to_json())


@router.post("/webhooks/pause")
async def pause_webhooks(faults: Faults) -> JSON:
    """Hold deliveries back (an outage or a slow queue at the provider) until resumed."""
    faults.emulator.dispatcher.pause()
    return {"paused": True}


@router.post("/webhooks/resume")
async def resume_webhooks(faults: Faults) -> JSON:
    return {"paused": False, "released": faults.emulator.dispatcher.resume()}


@router.post("/webhooks/drop-next")
async def drop_next(faults: Faults, count: Annotated[int, Query(ge=0)] = 1) -> JSON:
    """Lose the next ``count`` deliveries for good: the missed webhooks polling must recover."""
    faults.emulator.dispatcher.drop_next = count
    return {faults.provider.drop_next_key: count}


@router.post("/webhooks/flush")
async def flush_webhooks(faults: Faults) -> JSON:
    """Answer once every delivery in flight (retries included) has finished."""
    await faults.emulator.dispatcher.flush()
    return {"flushed": True}


# --- withheld answers ----------------------------------------------------------------------


@router.get("/holds")
async def get_holds(faults: Faults) -> JSON:
    """Rules still armed, the answers ``waiting`` now, and how many were delivered or abandoned."""
    return faults.holds.to_json()


@router.post("/holds")
async def arm_hold(body: HoldIn, faults: Faults) -> JSON:
    """Perform the next ``count`` requests to ``method path`` but withhold their answers: the
    client hangs until ``/holds/release`` or until it hangs up (or dies)."""
    if not faults.provider.can_hold(body.path):
        # Holding the control API could withhold the very call that releases it.
        raise faults.provider.not_an_api_path()
    return faults.holds.arm(body.method, body.path, body.count).to_json()


@router.post("/holds/release")
async def release_holds(faults: Faults) -> JSON:
    """Send every withheld answer now (rules not yet spent stay armed)."""
    return {"released": faults.holds.release()}


@router.delete("/holds")
async def clear_holds(faults: Faults) -> JSON:
    """Disarm every rule and send every withheld answer."""
    return faults.holds.clear()


# --- outages, rate limits and the request log ----------------------------------------------


@router.get("/outages")
async def get_outages(faults: Faults) -> list[JSON]:
    return faults.emulator.outages.to_json()


@router.delete("/outages")
async def end_outages(faults: Faults) -> JSON:
    return {"ended": faults.emulator.outages.end_all()}


@router.get("/rate-limits")
async def get_rate_limits(faults: Faults) -> JSON:
    """The rate limits in force, named as ``POST /rate-limits`` takes them."""
    return limits_json(faults.provider.limits_model, faults.emulator.limiter.config)


@router.get("/requests")
async def requests_log(faults: Faults, since: int = 0) -> list[JSON]:
    """The API calls received (method, path, status), oldest first; ``since`` is a ``seq``."""
    return faults.emulator.requests.since(since)


@router.delete("/requests")
async def clear_requests(faults: Faults) -> JSON:
    faults.emulator.requests.clear()
    return {"cleared": True}
