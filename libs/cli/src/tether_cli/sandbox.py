"""The sandbox: embedded Tether plus a Trello, an Asana and a Jira emulator, already
connected, so a newcomer can see two-way sync with no account and no network.

Four HTTP servers in one process: Tether (default :8000), the Trello emulator (default
:9101), the Asana emulator (default :9102) and the Jira emulator (default :9103). They talk
over real loopback HTTP, signatures and all, exactly as Tether talks to Trello, Asana and Jira.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any, Literal

import httpx
import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import issue_token
from api_gateway.config import GatewaySettings
from tether_cli.embedded import EmbeddedSettings, configure_observability, embedded_system
from tether_cli.sandbox_emulators import (
    EMULATOR_HOST,
    Emulator,
    asana_emulator,
    emulator_url,
    jira_emulator,
    trello_emulator,
)
from tether_cli.sandbox_steps import sandbox_steps
from tether_cli.sandbox_world import (
    SandboxAccount,
    SandboxSetupFailed,
    SandboxWorld,
    connect_and_export,
    create_sample_task,
    with_issue_key,
)
from tether_cli.serving import PortInUse, QuietServer, Servers, StopSignal, bind
from tether_common.db import create_engine, session_factory, transaction

TENANT, EMAIL = "sandbox", "you@sandbox.local"


class SandboxSettings(BaseSettings):
    """Settings of the sandbox's emulators (env prefix ``TETHER_SANDBOX_``); Tether itself
    reads ``EmbeddedSettings`` as ``make run`` does."""

    model_config = SettingsConfigDict(env_prefix="TETHER_SANDBOX_", extra="ignore")

    emulator_port: int = Field(
        default=9101, ge=1, le=65535, description="Port of the Trello emulator"
    )
    asana_emulator_port: int = Field(
        default=9102, ge=1, le=65535, description="Port of the Asana emulator"
    )
    jira_emulator_port: int = Field(
        default=9103, ge=1, le=65535, description="Port of the Jira emulator"
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


async def prepare(
    tether_url: str, trello: SandboxAccount, asana: SandboxAccount, jira: SandboxAccount
) -> SandboxWorld:
    """A token, the three accounts connected and one sample task exported to a Trello card,
    an Asana task and a Jira issue: what the printed steps name."""
    token = await mint_token(TENANT, EMAIL)
    async with httpx.AsyncClient(
        base_url=tether_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        task_id = await create_sample_task(api)
        on_trello = await connect_and_export(api, task_id, trello)
        on_asana = await connect_and_export(api, task_id, asana)
        on_jira = await with_issue_key(await connect_and_export(api, task_id, jira))
    return SandboxWorld(tether_url, token, task_id, trello=on_trello, asana=on_asana, jira=on_jira)


async def serve_sandbox(
    settings: EmbeddedSettings | None = None, sandbox: SandboxSettings | None = None
) -> None:
    """Serve until Ctrl-C (or SIGTERM), then stop every server and every service in order."""
    settings = settings or EmbeddedSettings()
    sandbox = sandbox or SandboxSettings()
    configure_observability(settings)
    tether_socket, *emulator_sockets = _bind_all(settings, sandbox)
    tether_url = f"http://{settings.host}:{settings.port}"
    trello_emu = trello_emulator(emulator_url(sandbox.emulator_port), tether_url)
    asana_emu = asana_emulator(emulator_url(sandbox.asana_emulator_port), tether_url)
    jira_emu = jira_emulator(emulator_url(sandbox.jira_emulator_port), tether_url)
    emulators: list[Emulator[Any]] = [trello_emu, asana_emu, jira_emu]
    with StopSignal() as stop:
        async with embedded_system(
            settings=settings,
            trello_settings=trello_emu.connector,
            asana_settings=asana_emu.connector,
            jira_settings=jira_emu.connector,
        ) as system:
            servers = Servers(
                stop,
                [
                    # embedded_system() runs Tether's lifespans; each emulator runs its own.
                    (_server(system.app, lifespan="off"), tether_socket),
                    *(
                        (_server(emu.app, lifespan="on"), sock)
                        for emu, sock in zip(emulators, emulator_sockets, strict=True)
                    ),
                ],
            )
            async with servers:
                if not await servers.started():
                    return
                accounts = (trello_emu.account, asana_emu.account, jira_emu.account)
                world = await stop.unless_stopped(prepare(tether_url, *accounts))
                if world is None:
                    return
                # The steps are the command's output (stdout); logs go to stderr.
                print(sandbox_steps(world), flush=True)
                await servers.until_stopped()


def _bind_all(settings: EmbeddedSettings, sandbox: SandboxSettings) -> list[socket.socket]:
    """Tether's socket, then the Trello, Asana and Jira emulators'. Every port is taken before
    anything starts: a busy port is one clear error (``PortInUse``)."""
    emulators = [
        ("Trello", sandbox.emulator_port, "EMULATOR_PORT"),
        ("Asana", sandbox.asana_emulator_port, "ASANA_EMULATOR_PORT"),
        ("Jira", sandbox.jira_emulator_port, "JIRA_EMULATOR_PORT"),
    ]
    return [
        bind(settings.host, settings.port, what="Tether", setting="TETHER_PORT"),
        *(
            bind(EMULATOR_HOST, port, what=f"The {name} emulator", setting=f"TETHER_SANDBOX_{key}")
            for name, port, key in emulators
        ),
    ]


def _server(app: ASGIApp, *, lifespan: Literal["on", "off"]) -> QuietServer:
    return QuietServer(uvicorn.Config(app, lifespan=lifespan, log_config=None, access_log=False))


def run_sandbox() -> None:
    """``tether sandbox``: exit 0 after Ctrl-C; 1, with one line on stderr, if it cannot start."""
    try:
        asyncio.run(serve_sandbox())
    except (PortInUse, SandboxSetupFailed) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        raise SystemExit(1) from None
