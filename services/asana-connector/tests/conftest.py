"""The Asana emulator in memory, an adapter on it, and sessions for a personal access token
and for an OAuth app's token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from asana_connector.adapter import AsanaAdapter
from asana_connector.client import AsanaClient
from asana_connector.config import AsanaSettings
from asana_connector.secret import AsanaSecret
from asana_connector.session import AsanaSession
from tether_connector_runtime.due_dates import Owner
from tether_emulators.asana import AsanaEmulator, OAuthApp, create_asana_emulator, get_emulator
from tether_emulators.asana.store import Project
from tether_emulators.asana.testing import HookRecorder, oauth_tokens

API_URL = "http://asana.test/api/1.0"
OAUTH_URL = "http://127.0.0.1:9102"  # https, or http on a loopback address with a port
CALLBACK = "http://tether.test/v1/connections/asana/callback"
PAT = "pat-of-ada-0001"
CLIENT_ID, CLIENT_SECRET = "tether-client", "tether-secret"
UNLIMITED = 1_000_000


def asana_settings(**overrides: Any) -> AsanaSettings:
    values: dict[str, Any] = {
        "bus": "inprocess",
        "api_url": API_URL,
        "oauth_url": OAUTH_URL,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "public_url": "http://tether.test",
        # Tests make more calls a minute than Asana's free quota allows, and never wait for it
        # (the quota's own tests use a manual clock).
        "requests_per_minute": UNLIMITED,
    }
    return AsanaSettings(**(values | overrides))


@pytest.fixture
def settings_for() -> Callable[..., AsanaSettings]:
    """Settings for an adapter on the emulator, with overrides."""
    return asana_settings


@pytest.fixture
def pat() -> str:
    """Ada's personal access token."""
    return PAT


@pytest.fixture
def hooks() -> HookRecorder:
    return HookRecorder()


@pytest.fixture
def emulator(hooks: HookRecorder) -> FastAPI:
    return create_asana_emulator(
        tokens={PAT: "Ada Lovelace"},
        apps=[OAuthApp(CLIENT_ID, CLIENT_SECRET, (CALLBACK,))],
        webhook_transport=hooks,
        webhook_retry_delays=(0, 0, 0),
        allow_local_targets=True,
        per_minute=UNLIMITED,
    )


@pytest.fixture
def emu(emulator: FastAPI) -> AsanaEmulator:
    return get_emulator(emulator)


@pytest.fixture
def ada(emu: AsanaEmulator) -> str:
    """The gid of the person who connects."""
    return emu.store.tokens[PAT].user_gid


@pytest.fixture
def project(emu: AsanaEmulator) -> Project:
    return emu.store.add_project(emu.workspace, "Launch", ["To do", "Doing", "Done"])


@pytest.fixture
def sections(emu: AsanaEmulator, project: Project) -> list[str]:
    return [s.gid for s in emu.store.project_sections(project.gid)]


@pytest.fixture
async def http(emulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as client:
        yield client


@pytest.fixture
async def root(emulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's root: OAuth endpoints and the control API."""
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=OAUTH_URL) as client:
        yield client


@pytest.fixture
def adapter(http: httpx.AsyncClient, emulator: FastAPI) -> AsanaAdapter:
    return AsanaAdapter(http, asana_settings(), transport=httpx.ASGITransport(app=emulator))


@pytest.fixture
def pat_client(adapter: AsanaAdapter) -> AsanaClient:
    return adapter.client(PAT)


@pytest.fixture
def pat_session(adapter: AsanaAdapter) -> AsanaSession:
    return adapter.session(AsanaSecret("pat", PAT).dumps(), Owner())


@pytest.fixture
async def oauth_secret(root: httpx.AsyncClient, ada: str) -> AsanaSecret:
    tokens = await oauth_tokens(
        root,
        user_gid=ada,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=CALLBACK,
    )
    return AsanaSecret("oauth", tokens["access_token"], tokens["refresh_token"])


@pytest.fixture
def oauth_session(adapter: AsanaAdapter, oauth_secret: AsanaSecret) -> AsanaSession:
    return adapter.session(oauth_secret.dumps(), Owner())
