"""Connecting through Trello's OAuth 1.0a consent page, against the Trello emulator in memory:
the whole flow, across replicas, and each way it can go wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.secrets import generate_key
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_events.inprocess import InProcessBus
from trello_connector.app import create_app
from trello_connector.config import TrelloSettings

SECRET = "app-secret"
OAUTH_URL = "http://127.0.0.1:9101/1"  # OAuth 1.0a needs https or a loopback address
CALLBACK = "http://tether.test/v1/connections/trello/callback"
START = "/internal/v1/tenants/acme/oauth/authorize"
FINISH = "/internal/v1/oauth/callback"

Connector = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def emulator() -> FastAPI:
    return create_trello_emulator(api_secret=SECRET)


@pytest.fixture
def member(emulator: FastAPI) -> str:
    """The person who connects: a Trello member with no token yet."""
    return get_emulator(emulator).add_member("ada", "Ada Lovelace").id


@pytest.fixture
def trello(emulator: FastAPI) -> httpx.AsyncClient:
    """The emulator as a person's browser (the consent page) and as the test's remote control."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=OAUTH_URL)


@pytest.fixture
def connector(tmp_path: Path, emulator: FastAPI) -> Connector:
    """Starts a connector replica; every replica shares one database and one encryption key."""
    key = generate_key()

    @asynccontextmanager
    async def run(
        transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "bus": "inprocess",
            "api_url": "http://trello.test/1",
            "oauth_url": OAUTH_URL,
            "api_key": "sandbox-key",
            "api_secret": SECRET,
            "public_url": "http://tether.test",
            "database_url": f"sqlite+aiosqlite:///{tmp_path}/trello.db",
            "token_encryption_key": key,
            "reconcile_interval": 3600,
        }
        settings = TrelloSettings(**(values | overrides))
        app = create_app(
            settings,
            bus=InProcessBus(),
            trello_transport=transport or httpx.ASGITransport(app=emulator),
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://tether.test"
            ) as api,
        ):
            api.app = app  # type: ignore[attr-defined]  # for tests that reach the store
            yield api

    return run


async def consent(trello: httpx.AsyncClient, authorize_url: str, member: str) -> dict[str, str]:
    """A person opens the consent page, allows as ``member``, and is sent to the callback: the
    callback's query parameters."""
    page = await trello.get(authorize_url)
    assert page.status_code == 200, page.text
    token = dict(parse_qsl(urlsplit(authorize_url).query))["oauth_token"]
    allowed = await trello.post(
        "/OAuthAuthorizeToken", data={"oauth_token": token, "member": member}
    )
    assert allowed.status_code == 303, allowed.text
    back = urlsplit(allowed.headers["location"])
    assert back._replace(query="").geturl() == CALLBACK
    return dict(parse_qsl(back.query))


async def started(api: httpx.AsyncClient) -> str:
    answer = await api.post(START, json={"user_id": "user-1"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["authorize_url"])


def state_of(api: httpx.AsyncClient) -> Pipeline:
    app: FastAPI = api.app  # type: ignore[attr-defined]
    pipeline: Pipeline = app.state.connector.pipeline
    return pipeline


async def pending_count(api: httpx.AsyncClient) -> int:
    state = state_of(api)
    async with state.sessions() as session:
        table = state.repo.t.pending_authorizations
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_consent_at_trello_makes_a_working_connection(
    connector: Connector, trello: httpx.AsyncClient, emulator: FastAPI, member: str
) -> None:
    async with connector() as api:
        started_answer = await api.post(START, json={"user_id": "user-1"})
        assert started_answer.status_code == 201
        authorize_url = started_answer.json()["authorize_url"]
        page = urlsplit(authorize_url)
        assert page._replace(query="").geturl() == f"{OAUTH_URL}/OAuthAuthorizeToken"
        asked = dict(parse_qsl(page.query))
        assert (asked["name"], asked["scope"], asked["expiration"]) == (
            "Tether",
            "read,write",
            "never",
        )
        expires_at = datetime.fromisoformat(started_answer.json()["expires_at"])
        assert timedelta(minutes=9) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)
        assert await pending_count(api) == 1

        back = await consent(trello, authorize_url, member)
        assert back["oauth_token"] == asked["oauth_token"]
        finished = await api.post(FINISH, json=back)
        assert finished.status_code == 201, finished.text
        connection = finished.json()
        assert connection["account_id"] == member
        assert connection["status"] == "active"
        assert connection["id"].startswith("trello_")
        assert await pending_count(api) == 0

        # Stored for the tenant that started, like a pasted token, and usable on the API.
        listed = (await api.get("/internal/v1/tenants/acme/connections")).json()
        assert [c["id"] for c in listed] == [connection["id"]]
        assert (await api.get("/internal/v1/tenants/other/connections")).json() == []
        board = await trello.post("http://127.0.0.1:9101/_emulator/boards", json={"name": "Work"})
        assert board.status_code == 200, board.text
        targets = await api.get(f"/internal/v1/tenants/acme/connections/{connection['id']}/targets")
        assert [b["name"] for b in targets.json()["containers"]] == ["Work"]
        # Each list names the export target that creates a card in it.
        places = targets.json()["containers"][0]["places"]
        assert places
        assert all(place["target"] == {"list_id": place["id"]} for place in places)

    granted = [t for t, m in get_emulator(emulator).store.tokens.items() if m == member]
    assert len(granted) == 1
    logged = [(r["path"], r["status"]) for r in get_emulator(emulator).requests]
    assert ("/1/OAuthGetRequestToken", 200) in logged
    assert ("/1/OAuthGetAccessToken", 200) in logged


async def test_one_replica_starts_and_another_finishes(
    connector: Connector, trello: httpx.AsyncClient, member: str
) -> None:
    async with connector() as first:
        authorize_url = await started(first)
    back = await consent(trello, authorize_url, member)
    # The first replica is gone (a restart, or the browser came back elsewhere).
    async with connector() as second:
        finished = await second.post(FINISH, json=back)
        assert finished.status_code == 201, finished.text
        assert finished.json()["account_id"] == member


async def test_a_callback_is_single_use(
    connector: Connector, trello: httpx.AsyncClient, member: str
) -> None:
    async with connector() as api:
        back = await consent(trello, await started(api), member)
        assert (await api.post(FINISH, json=back)).status_code == 201
        again = await api.post(FINISH, json=back)
        assert again.status_code == 400
        assert again.json()["error"]["code"] == "authorization_unknown"
        assert "start again" in again.json()["error"]["message"]
        assert len((await api.get("/internal/v1/tenants/acme/connections")).json()) == 1


async def test_an_unknown_oauth_token_is_refused(connector: Connector) -> None:
    async with connector() as api:
        answer = await api.post(FINISH, json={"oauth_token": "forged", "oauth_verifier": "x"})
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "authorization_unknown"


async def test_an_expired_authorization_is_refused(
    connector: Connector, trello: httpx.AsyncClient, member: str
) -> None:
    async with connector() as api:
        back = await consent(trello, await started(api), member)
        state = state_of(api)
        table = state.repo.t.pending_authorizations
        async with state.sessions() as session, session.begin():
            await session.execute(
                update(table).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        answer = await api.post(FINISH, json=back)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "authorization_expired"
        assert "10 minutes" in answer.json()["error"]["message"]
        assert (await api.get("/internal/v1/tenants/acme/connections")).json() == []
        # Starting again purges what expired.
        await started(api)
        assert await pending_count(api) == 1


async def test_a_verifier_trello_rejects_is_a_400_with_the_reason(
    connector: Connector, trello: httpx.AsyncClient, member: str
) -> None:
    async with connector() as api:
        back = await consent(trello, await started(api), member)
        answer = await api.post(FINISH, json={**back, "oauth_verifier": "0" * 32})
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "token_rejected"
        assert "invalid verifier" in answer.json()["error"]["message"]
        assert (await api.get("/internal/v1/tenants/acme/connections")).json() == []


async def test_an_app_secret_trello_rejects_is_named(connector: Connector) -> None:
    async with connector(api_secret="not-the-secret") as api:
        answer = await api.post(START, json={"user_id": "user-1"})
        assert answer.status_code == 502
        assert answer.json()["error"]["code"] == "provider_refused_app"
        assert "invalid signature" in answer.json()["error"]["message"]
        assert await pending_count(api) == 0


async def test_without_app_credentials_oauth_is_unavailable(connector: Connector) -> None:
    async with connector(api_secret="") as api:
        answer = await api.post(START, json={"user_id": "user-1"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "oauth_not_configured"
        assert "TETHER_TRELLO_API_SECRET" in answer.json()["error"]["message"]


async def test_trello_unreachable_is_a_503(connector: Connector) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with connector(httpx.MockTransport(refuse)) as api:
        answer = await api.post(START, json={"user_id": "user-1"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "provider_unavailable"
        assert "Trello unreachable" in answer.json()["error"]["message"]
