"""The sandbox: embedded Tether plus a Trello emulator, already connected, so a newcomer can
see two-way sync with no account and no network.

Two HTTP servers in one process: Tether (default :8000) and the emulator (default :9101). They
talk over real loopback HTTP, signatures and all, exactly as Tether talks to Trello.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Literal

import httpx
import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import issue_token
from api_gateway.config import GatewaySettings
from tether_cli.embedded import EmbeddedSettings, embedded_system
from tether_cli.sandbox_steps import sandbox_steps
from tether_cli.sandbox_world import (
    SAMPLE_LIST,
    SandboxSetupFailed,
    SandboxWorld,
    connect,
    export_sample_task,
)
from tether_cli.serving import PortInUse, QuietServer, Servers, StopSignal, bind
from tether_common.db import create_engine, session_factory, transaction
from tether_common.logging import configure_logging
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_emulators.trello.emulator import SandboxInfo
from trello_connector.config import TrelloSettings

KEY, SECRET = "sandbox-key", "sandbox-secret"
TENANT, EMAIL = "sandbox", "you@sandbox.local"


class SandboxSettings(BaseSettings):
    """Settings of the sandbox's emulator (env prefix ``TETHER_SANDBOX_``); Tether itself
    reads ``EmbeddedSettings`` as ``make run`` does."""

    model_config = SettingsConfigDict(env_prefix="TETHER_SANDBOX_", extra="ignore")

    emulator_port: int = Field(
        default=9101, ge=1, le=65535, description="Port of the Trello emulator"
    )


async def mint_token(tenant: str, email: str) -> str:
    engine = create_engine(GatewaySettings().database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            issued = await issue_token(
                AuthRepository(session), tenant_name=tenant, email=email, now=utcnow()
            )
        return issued.token
    finally:
        await engine.dispose()


async def prepare(tether_url: str, emulator_url: str, info: SandboxInfo) -> SandboxWorld:
    """A token, the connection and a sample task on a card: what the printed steps name."""
    token = await mint_token(TENANT, EMAIL)
    async with httpx.AsyncClient(
        base_url=tether_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        connection_id = await connect(api, info)
        task_id, card_id = await export_sample_task(api, connection_id, info.list_ids[SAMPLE_LIST])
    return SandboxWorld(
        tether_url=tether_url,
        emulator_url=emulator_url,
        api_token=token,
        emulator_key=KEY,
        emulator_token=info.token,
        connection_id=connection_id,
        board_id=info.board_id,
        list_ids=info.list_ids,
        task_id=task_id,
        card_id=card_id,
    )


async def serve_sandbox(
    settings: EmbeddedSettings | None = None, sandbox: SandboxSettings | None = None
) -> None:
    """Serve until Ctrl-C (or SIGTERM), then stop both servers and every service in order."""
    settings = settings or EmbeddedSettings()
    sandbox = sandbox or SandboxSettings()
    configure_logging("tether", settings.log_level, settings.log_json)
    # Both ports are taken before anything starts: a busy port is one clear error.
    tether_socket = bind(settings.host, settings.port, what="Tether", setting="TETHER_PORT")
    emulator_socket = bind(
        "127.0.0.1",
        sandbox.emulator_port,
        what="The Trello emulator",
        setting="TETHER_SANDBOX_EMULATOR_PORT",
    )
    tether_url = f"http://{settings.host}:{settings.port}"
    emulator_url = f"http://127.0.0.1:{sandbox.emulator_port}"
    emulator = create_trello_emulator(api_key=KEY, api_secret=SECRET, sandbox=True)
    trello = TrelloSettings(
        bus="inprocess",
        api_url=f"{emulator_url}/1",
        oauth_url=f"{emulator_url}/1",
        api_key=KEY,
        api_secret=SECRET,
        public_url=tether_url,
        reconcile_interval=10,
    )
    info = get_emulator(emulator).sandbox_info
    assert info is not None  # sandbox=True always seeds it
    with StopSignal() as stop:
        async with embedded_system(settings=settings, trello_settings=trello) as system:
            servers = Servers(
                stop,
                [
                    # embedded_system() runs Tether's lifespans; the emulator runs its own.
                    (_server(system.app, lifespan="off"), tether_socket),
                    (_server(emulator, lifespan="on"), emulator_socket),
                ],
            )
            async with servers:
                if not await servers.started():
                    return
                world = await stop.unless_stopped(prepare(tether_url, emulator_url, info))
                if world is None:
                    return
                # The steps are the command's output (stdout); logs go to stderr.
                print(sandbox_steps(world), flush=True)
                await servers.until_stopped()


def _server(app: ASGIApp, *, lifespan: Literal["on", "off"]) -> QuietServer:
    return QuietServer(uvicorn.Config(app, lifespan=lifespan, log_config=None, access_log=False))


def run_sandbox() -> None:
    """``tether sandbox``: exit 0 after Ctrl-C; 1, with one line on stderr, if it cannot start."""
    try:
        asyncio.run(serve_sandbox())
    except (PortInUse, SandboxSetupFailed) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        raise SystemExit(1) from None
