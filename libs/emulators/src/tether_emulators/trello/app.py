"""Assembles the emulator: the Trello API under ``/1``, the control API under ``/_emulator``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from tether_emulators.common.app import emulator_app
from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.provider import Provider
from tether_emulators.trello import api, control
from tether_emulators.trello.emulator import TrelloEmulator
from tether_emulators.trello.errors import TrelloError, invalid_value
from tether_emulators.trello.gate import TrelloGate
from tether_emulators.trello.limits import LimitConfig
from tether_emulators.trello.oauth import install_oauth

# Short, so tests of failing receivers stay fast; Trello's real spacing is much longer.
DEFAULT_RETRY_DELAYS = (0.05, 0.25, 1.0)


def _unknown_route(request: Request, status: int) -> PlainTextResponse:
    # Trello's own router answers unknown routes the Express way, in plain text.
    return PlainTextResponse(f"Cannot {request.method} {request.url.path}", status_code=status)


TRELLO = Provider(
    name="Trello",
    api_path="/1",
    gate=TrelloGate,
    error=TrelloError,
    answer=lambda error: PlainTextResponse(error.message, status_code=error.status),
    unknown_route=_unknown_route,
    not_an_api_path=lambda: invalid_value("path"),
    drop_next_key="dropNext",
    limits_model=control.LimitsIn,
)


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
    webhook_timeout: float = 30.0,  # Trello allows 30 s per delivery
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
        deliveries=DeliverySettings(webhook_transport, webhook_retry_delays, webhook_timeout),
        sandbox=sandbox,
    )

    app = emulator_app(emulator, TRELLO)
    app.include_router(api.router)
    app.include_router(control.router)
    install_oauth(app, emulator)
    return app


def get_emulator(app: FastAPI) -> TrelloEmulator:
    """The state behind an app made by ``create_trello_emulator`` (for in-process tests)."""
    return cast(TrelloEmulator, app.state.trello)
