"""Fixtures of the emulators' tests: one in-process emulator per test.

Tests speak to it only over HTTP (``httpx.ASGITransport``), as a client would: ``client`` is
Tether's token on the Trello API, ``control`` is the test's remote control. Webhook callbacks go
to a ``CallbackRecorder`` and retries wait 0 s. A test changes the emulator's arguments by
parametrizing ``emulator_kwargs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tether_emulators.asana import AsanaEmulator, create_asana_emulator
from tether_emulators.asana import get_emulator as get_asana_emulator
from tether_emulators.asana.testing import HookRecorder
from tether_emulators.jira import JiraAccount, OAuthApp, create_jira_emulator
from tether_emulators.jira import get_emulator as get_jira_emulator
from tether_emulators.jira.testing import JiraHookRecorder, basic_auth
from tether_emulators.trello import TrelloEmulator, create_trello_emulator, get_emulator
from tether_emulators.trello.testing import CallbackRecorder, ManualClock

KEY = "sandbox-key"
TOKEN = "tether-token"
MEMBER = "5e0000000000000000000001"


def over_http(app: FastAPI, base_url: str, **options: Any) -> httpx.AsyncClient:
    """A client of ``app`` in-process, as a client on the network would speak to it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, **options)


def emulator_wiring(clock: ManualClock, transport: httpx.AsyncBaseTransport) -> dict[str, Any]:
    """The arguments every emulator here takes alike: the manual clock for rate windows and
    dates, the recorder for webhooks, and retries at once."""
    return {
        "clock": clock,
        "wall_clock": clock.now,
        "webhook_transport": transport,
        "webhook_retry_delays": (0.0, 0.0, 0.0),
    }


async def created(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    """The JSON of a control call that must succeed."""
    answer = await response
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def emulator_kwargs() -> dict[str, Any]:
    return {}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def recorder() -> CallbackRecorder:
    return CallbackRecorder()


@pytest.fixture
async def app(
    emulator_kwargs: dict[str, Any], clock: ManualClock, recorder: CallbackRecorder
) -> AsyncIterator[FastAPI]:
    kwargs = {"tokens": {TOKEN: MEMBER}, **emulator_wiring(clock, recorder), **emulator_kwargs}
    application = create_trello_emulator(**kwargs)
    yield application
    await get_emulator(application).aclose()


@pytest.fixture
def emulator(app: FastAPI) -> TrelloEmulator:
    return get_emulator(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with over_http(app, "http://trello.test/1", params={"key": KEY, "token": TOKEN}) as http:
        yield http


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The API without credentials, for the auth tests."""
    async with over_http(app, "http://trello.test/1") as http:
        yield http


@pytest.fixture
async def control(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with over_http(app, "http://trello.test/_emulator") as http:
        yield http


NewBoard = Callable[[str], Awaitable[dict[str, Any]]]


@pytest.fixture
def new_board(control: httpx.AsyncClient) -> NewBoard:
    """Makes a board with "To do", "Doing" and "Done", shared by Tether's member and the
    person; answers it as the control API does."""
    return lambda name: created(control.post("/boards", json={"name": name}))


@pytest.fixture
async def board(new_board: NewBoard) -> dict[str, Any]:
    return await new_board("Team")


# --- the Asana emulator ---------------------------------------------------------------------
# Same pattern: one in-process emulator per test, spoken to over HTTP only. ``asana`` is
# Tether's personal access token on the API, ``asana_control`` the remote control; webhook
# handshakes and deliveries go to a ``HookRecorder``.

ASANA_PAT = "tether-asana-pat"


@pytest.fixture
def asana_kwargs() -> dict[str, Any]:
    return {}


@pytest.fixture
def hooks() -> HookRecorder:
    return HookRecorder()


@pytest.fixture
async def asana_app(
    asana_kwargs: dict[str, Any], clock: ManualClock, hooks: HookRecorder
) -> AsyncIterator[FastAPI]:
    kwargs = {"tokens": {ASANA_PAT: "Tether"}, **emulator_wiring(clock, hooks), **asana_kwargs}
    application = create_asana_emulator(**kwargs)
    yield application
    await get_asana_emulator(application).aclose()


@pytest.fixture
def asana_emulator(asana_app: FastAPI) -> AsanaEmulator:
    return get_asana_emulator(asana_app)


def asana_client(app: FastAPI, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return over_http(app, "http://asana.test/api/1.0", headers=headers)


@pytest.fixture
async def asana(asana_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asana_client(asana_app, ASANA_PAT) as http:
        yield http


@pytest.fixture
async def asana_control(asana_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with over_http(asana_app, "http://asana.test/_emulator") as http:
        yield http


@pytest.fixture
async def project(asana_control: httpx.AsyncClient) -> dict[str, Any]:
    """A project with the sections "To do", "Doing" and "Done" in the emulated workspace."""
    return await created(asana_control.post("/projects", json={"name": "Team"}))


@pytest.fixture
def asana_as(asana_app: FastAPI) -> Callable[[str | None], httpx.AsyncClient]:
    """A client of the Asana API with another Bearer token (None: no Authorization header)."""
    return lambda token: asana_client(asana_app, token)


@pytest.fixture
async def asana_root(asana_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's root URL: Asana's OAuth endpoints (``/-/...``) and the control API."""
    async with over_http(asana_app, "http://asana.test") as http:
        yield http


@pytest.fixture
async def tether_user(asana: httpx.AsyncClient) -> str:
    """The gid of the user behind Tether's personal access token."""
    return str((await asana.get("/users/me")).json()["data"]["gid"])


# --- the Jira emulator ----------------------------------------------------------------------
# Same pattern: ``jira`` is Tether's email + API token on the site's API (Basic auth),
# ``jira_root`` the emulator's root (OAuth endpoints and the control API at /_emulator);
# deliveries go to a ``JiraHookRecorder``.

JIRA_EMAIL, JIRA_TOKEN = "tether@example.com", "tether-api-token"
JIRA_APP = OAuthApp("tether-jira-app", "tether-jira-secret", ("https://tether.test/callback",))


@pytest.fixture
def jira_kwargs() -> dict[str, Any]:
    return {}


@pytest.fixture
def jira_hooks() -> JiraHookRecorder:
    return JiraHookRecorder()


@pytest.fixture
async def jira_app(
    jira_kwargs: dict[str, Any], clock: ManualClock, jira_hooks: JiraHookRecorder
) -> AsyncIterator[FastAPI]:
    kwargs = {
        "accounts": [JiraAccount(JIRA_EMAIL, JIRA_TOKEN)],
        "apps": [JIRA_APP],
        **emulator_wiring(clock, jira_hooks),
        **jira_kwargs,
    }
    application = create_jira_emulator(**kwargs)
    yield application
    await get_jira_emulator(application).aclose()


@pytest.fixture
async def jira(jira_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    headers = basic_auth(JIRA_EMAIL, JIRA_TOKEN)
    async with over_http(jira_app, "http://jira.test/rest/api/3", headers=headers) as http:
        yield http


@pytest.fixture
async def jira_root(jira_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with over_http(jira_app, "http://jira.test") as http:
        yield http


@pytest.fixture
async def jira_project(jira_root: httpx.AsyncClient) -> dict[str, Any]:
    """Project ``TEAM`` with the issue types Task and Bug."""
    return await created(
        jira_root.post("/_emulator/projects", json={"key": "TEAM", "name": "Team"})
    )


@pytest.fixture
def jira_oauth_app() -> OAuthApp:
    """The OAuth 2.0 app registered at start-up (client id, secret, redirect URI)."""
    return JIRA_APP


@pytest.fixture
async def jira_me(jira: httpx.AsyncClient) -> dict[str, Any]:
    """``/myself`` of Tether's account (Basic auth): its ``accountId``, ``emailAddress``..."""
    return await created(jira.get("/myself"))


@pytest.fixture
def jira_as(jira_app: FastAPI) -> Callable[[dict[str, str]], httpx.AsyncClient]:
    """A client of the site's API (``/rest/api/3``) with other headers (other credentials)."""
    return lambda headers: over_http(jira_app, "http://jira.test/rest/api/3", headers=headers)
