"""Assembles the emulator: Asana's API under ``/api/1.0``, its OAuth endpoints under ``/-/``,
and the control API under ``/_emulator``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from tether_emulators.asana import (
    api_resources,
    api_tasks,
    api_webhooks,
    control,
    control_faults,
)
from tether_emulators.asana.control_models import LimitsIn
from tether_emulators.asana.emulator import AsanaEmulator, OAuthApp
from tether_emulators.asana.errors import AsanaError, bad_request, error_response
from tether_emulators.asana.gate import API_PREFIX, AsanaGate
from tether_emulators.asana.limits import LimitConfig
from tether_emulators.asana.oauth import install_oauth
from tether_emulators.common.app import emulator_app
from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.provider import Provider

# Short, so tests of failing receivers stay fast; Asana's real back-off spans 24 hours.
DEFAULT_RETRY_DELAYS = (0.05, 0.25, 1.0)
SANDBOX_APP = OAuthApp("sandbox-client-id", "sandbox-client-secret", ())


def _unknown_route(_: Request, status: int) -> Response:
    # Asana answers a route it does not have with its own error body, a 404 for any method.
    status = 404 if status in (404, 405) else status
    return error_response(AsanaError(status, "No matching route for request"))


ASANA = Provider(
    name="Asana",
    api_path=API_PREFIX,
    gate=AsanaGate,
    error=AsanaError,
    answer=error_response,
    unknown_route=_unknown_route,
    not_an_api_path=lambda: bad_request("path: Only /api/1.0 paths can be held"),
    drop_next_key="drop_next",
    limits_model=LimitsIn,
)


def create_asana_emulator(
    *,
    tokens: Mapping[str, str] | None = None,
    apps: Sequence[OAuthApp] = (SANDBOX_APP,),
    per_minute: int = 150,
    max_concurrent_reads: int = 50,
    max_concurrent_writes: int = 15,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    allow_local_targets: bool = False,
    sandbox: bool = False,
) -> FastAPI:
    """An Asana emulator as an ASGI app; the state is ``get_emulator(app)``.

    ``tokens`` maps each personal access token to the name of a user made for it.
    ``apps`` are the registered OAuth apps. ``per_minute`` is the token's quota (150 free,
    1500 paid). ``clock`` drives rate windows, ``wall_clock`` dates and expiries.
    ``webhook_transport`` carries handshakes and deliveries (the network when None).
    ``allow_local_targets`` accepts webhook targets on localhost, which Asana refuses (403).
    """
    emulator = AsanaEmulator(
        tokens=tokens or {},
        apps=apps,
        limits=LimitConfig(per_minute, max_concurrent_reads, max_concurrent_writes),
        clock=clock,
        wall_clock=wall_clock,
        # Asana waits 10 s for a receiver's answer.
        deliveries=DeliverySettings(webhook_transport, webhook_retry_delays, timeout=10.0),
        allow_local_targets=allow_local_targets,
        sandbox=sandbox,
    )

    app = emulator_app(emulator, ASANA)
    for module in (api_resources, api_tasks, api_webhooks, control, control_faults):
        app.include_router(module.router)
    install_oauth(app, emulator)
    return app


def get_emulator(app: FastAPI) -> AsanaEmulator:
    """The state behind an app made by ``create_asana_emulator`` (for in-process tests)."""
    return cast(AsanaEmulator, app.state.asana)
