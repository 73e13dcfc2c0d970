"""Assembles the emulator: the Trello API under ``/1``, the control API under ``/_emulator``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from tether_emulators.trello import api, control
from tether_emulators.trello.emulator import TrelloEmulator
from tether_emulators.trello.errors import TrelloError
from tether_emulators.trello.gate import TrelloGate, is_api_path
from tether_emulators.trello.holds import HoldingMiddleware, ResponseHolds
from tether_emulators.trello.limits import LimitConfig
from tether_emulators.trello.oauth import install_oauth

# Short, so tests of failing receivers stay fast; Trello's real spacing is much longer.
DEFAULT_RETRY_DELAYS = (0.05, 0.25, 1.0)


def create_trello_emulator(
    *,
    api_key: str = "sandbox-key",
    api_secret: str = "sandbox-secret",
    tokens: dict[str, str] | None = None,
    token_limit: int = 100,
    key_limit: int = 300,
    window_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    webhook_timeout: float = 30.0,
    members_limit: int = 100,
    members_window_seconds: float = 900.0,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sandbox: bool = False,
) -> FastAPI:
    """A Trello emulator as an ASGI app; the state is ``get_emulator(app)``.

    ``tokens`` maps each valid token to its member id (the member is created if unknown).
    ``clock`` drives the rate-limit windows, ``wall_clock`` the dates of actions and cards.
    ``webhook_transport`` carries the HEAD checks and deliveries (the network when None);
    ``webhook_retry_delays`` are the waits before each retry of a failed delivery.
    ``sandbox`` seeds the "Sandbox" board with a fixed token (see ``SandboxInfo``).
    """
    emulator = TrelloEmulator(
        api_key=api_key,
        api_secret=api_secret,
        tokens=tokens or {},
        limits=LimitConfig(
            token_limit=token_limit,
            key_limit=key_limit,
            window_seconds=window_seconds,
            members_limit=members_limit,
            members_window_seconds=members_window_seconds,
        ),
        clock=clock,
        wall_clock=wall_clock,
        webhook_transport=webhook_transport,
        webhook_retry_delays=webhook_retry_delays,
        webhook_timeout=webhook_timeout,
        sandbox=sandbox,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await emulator.aclose()

    # FastAPIOffline serves Swagger UI's assets from its package: the sandbox works offline.
    app = FastAPIOffline(
        title="Trello emulator",
        description="Trello's REST API as Tether uses it, plus a control API under /_emulator.",
        lifespan=lifespan,
        # Trello has no /docs; keep the emulator's own docs (and their assets) out of /1.
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
        static_url="/_emulator/docs/assets",
        swagger_ui_oauth2_redirect_url="/_emulator/docs/oauth2-redirect",
    )
    app.state.trello = emulator
    app.state.trello_holds = holds = ResponseHolds()

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        # A pointer for people who open the sandbox in a browser.
        return {"trello_api": "/1", "control": "/_emulator", "docs": "/_emulator/docs"}

    app.include_router(api.router)
    app.include_router(control.router)
    install_oauth(app, emulator)
    app.add_exception_handler(TrelloError, _trello_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(TrelloGate, emulator=emulator)
    # Outermost: a held request has been through the gate like any other (see holds).
    app.add_middleware(HoldingMiddleware, holds=holds)
    return app


def get_emulator(app: FastAPI) -> TrelloEmulator:
    """The state behind an app made by ``create_trello_emulator`` (for in-process tests)."""
    return cast(TrelloEmulator, app.state.trello)


async def _trello_error(_: Request, exc: Exception) -> Response:
    error = cast(TrelloError, exc)
    return PlainTextResponse(error.message, status_code=error.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    error = cast(StarletteHTTPException, exc)
    if is_api_path(request.url.path):
        # Trello's own router answers unknown routes the Express way, in plain text.
        return PlainTextResponse(
            f"Cannot {request.method} {request.url.path}", status_code=error.status_code
        )
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)
