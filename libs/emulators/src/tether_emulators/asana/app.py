"""Assembles the emulator: Asana's API under ``/api/1.0``, its OAuth endpoints under ``/-/``,
and the control API under ``/_emulator``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from tether_emulators.asana import (
    api_resources,
    api_tasks,
    api_webhooks,
    control,
    control_faults,
)
from tether_emulators.asana.emulator import AsanaEmulator, OAuthApp
from tether_emulators.asana.errors import AsanaError
from tether_emulators.asana.gate import AsanaGate, error_response, is_api_path
from tether_emulators.asana.limits import LimitConfig
from tether_emulators.asana.oauth import install_oauth
from tether_emulators.trello.holds import HoldingMiddleware, ResponseHolds

# Short, so tests of failing receivers stay fast; Asana's real back-off spans 24 hours.
DEFAULT_RETRY_DELAYS = (0.05, 0.25, 1.0)
SANDBOX_APP = OAuthApp("sandbox-client-id", "sandbox-client-secret", ())


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
        webhook_transport=webhook_transport,
        webhook_retry_delays=webhook_retry_delays,
        allow_local_targets=allow_local_targets,
        sandbox=sandbox,
    )

    app = _application(emulator)
    app.state.asana = emulator
    app.state.asana_holds = holds = ResponseHolds()

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        return {"asana_api": "/api/1.0", "control": "/_emulator", "docs": "/_emulator/docs"}

    for module in (api_resources, api_tasks, api_webhooks, control, control_faults):
        app.include_router(module.router)
    install_oauth(app, emulator)
    app.add_exception_handler(AsanaError, _asana_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(AsanaGate, emulator=emulator)
    # Outermost: a held request has been through the gate like any other (see trello.holds).
    app.add_middleware(HoldingMiddleware, holds=holds, applies_to=is_api_path)
    return app


def _application(emulator: AsanaEmulator) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await emulator.aclose()

    # FastAPIOffline serves Swagger UI's assets from its package: the sandbox works offline.
    return FastAPIOffline(
        title="Asana emulator",
        description="Asana's REST API as Tether uses it, plus a control API under /_emulator.",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
        static_url="/_emulator/docs/assets",
        swagger_ui_oauth2_redirect_url="/_emulator/docs/oauth2-redirect",
    )


def get_emulator(app: FastAPI) -> AsanaEmulator:
    """The state behind an app made by ``create_asana_emulator`` (for in-process tests)."""
    return cast(AsanaEmulator, app.state.asana)


async def _asana_error(_: Request, exc: Exception) -> Response:
    return error_response(cast(AsanaError, exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    error = cast(StarletteHTTPException, exc)
    if is_api_path(request.url.path):
        # Asana answers a route it does not have with its own error body.
        status = 404 if error.status_code in (404, 405) else error.status_code
        return error_response(AsanaError(status, "No matching route for request"))
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)
