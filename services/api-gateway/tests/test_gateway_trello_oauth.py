"""Connecting Trello through its consent page: the gateway starts the flow for the caller's
tenant and user, and completes it at the callback without an API token; then the same through
the real Trello connector and the Trello emulator, in memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings
from tether_connector_runtime.secrets import generate_key
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_events.inprocess import InProcessBus
from trello_connector.app import create_app as create_trello_connector
from trello_connector.config import TrelloSettings

AUTHORIZE_URL = "https://trello.com/1/OAuthAuthorizeToken?oauth_token=req-1&name=Tether"
CONNECTION = {
    "id": "trello_abc123",
    "provider": "trello",
    "account_id": "m1",
    "account_name": "ada",
    "status": "active",
    "created_at": "2026-11-28T10:00:00Z",
}

Start = Callable[[httpx.AsyncBaseTransport], AsyncIterator[httpx.AsyncClient]]


class FakeConnector:
    """The Trello connector's internal OAuth API, recording what the gateway sends it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.calls.append((request.method, request.url.path, body))
        if request.url.path.endswith("/oauth/authorize"):
            return httpx.Response(
                201, json={"authorize_url": AUTHORIZE_URL, "expires_at": "2026-11-28T10:10:00Z"}
            )
        if request.url.path == "/internal/v1/oauth/callback":
            if body["oauth_token"] == "req-1" and body["oauth_verifier"] == "v-1":
                return httpx.Response(201, json=CONNECTION)
            if body["oauth_token"] == "req-old":
                error = {"code": "authorization_expired", "message": "this authorization expired"}
                return httpx.Response(400, json={"error": error})
            error = {"code": "provider_unavailable", "message": "Trello unreachable: timeout"}
            return httpx.Response(503, json={"error": error})
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture
def start(settings: GatewaySettings) -> Start:
    async def run(trello: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            # Trello is the only connector here: the others are not configured.
            settings.model_copy(update={"asana_connector_url": None, "jira_connector_url": None}),
            task_core_transport=httpx.MockTransport(lambda r: httpx.Response(503)),
            connector_transports={"trello": trello},
        )
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
            ) as client,
        ):
            yield client

    return run


async def test_authorize_starts_the_flow_for_the_caller(
    start: Start, issue_token: Callable[[str, str], Awaitable[str]]
) -> None:
    connector = FakeConnector()
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    async for api in start(httpx.MockTransport(connector.handle)):
        me = (await api.get("/v1/me", headers=headers)).json()
        sent = await api.get("/v1/connections/trello/authorize", headers=headers)
        assert sent.status_code == 302
        assert sent.headers["location"] == AUTHORIZE_URL
        as_json = await api.get(
            "/v1/connections/trello/authorize", params={"redirect": "false"}, headers=headers
        )
        assert as_json.status_code == 200
        assert as_json.json() == {
            "authorize_url": AUTHORIZE_URL,
            "expires_at": "2026-11-28T10:10:00Z",
        }
        anonymous = await api.get("/v1/connections/trello/authorize")
        assert anonymous.status_code == 401
    # Under the caller's tenant and user, never ones the client names; anonymous never got far.
    expected = (
        "POST",
        f"/internal/v1/tenants/{me['tenant']['id']}/oauth/authorize",
        {"user_id": me["user"]["id"], "time_zone": "UTC"},
    )
    assert connector.calls == [expected, expected]


async def test_the_callback_needs_no_api_token_and_passes_refusals_on(start: Start) -> None:
    connector = FakeConnector()
    async for api in start(httpx.MockTransport(connector.handle)):
        done = await api.get(
            "/v1/connections/trello/callback",
            params={"oauth_token": "req-1", "oauth_verifier": "v-1"},
        )
        assert done.status_code == 201, done.text
        assert done.json() == CONNECTION

        expired = await api.get(
            "/v1/connections/trello/callback",
            params={"oauth_token": "req-old", "oauth_verifier": "v-1"},
        )
        assert expired.status_code == 400
        assert expired.json()["error"] == {
            "code": "authorization_expired",
            "message": "this authorization expired",
        }

        down = await api.get(
            "/v1/connections/trello/callback",
            params={"oauth_token": "req-2", "oauth_verifier": "v-2"},
        )
        assert down.status_code == 503
        assert "Trello unreachable: timeout" in down.json()["error"]["message"]

        calls_so_far = len(connector.calls)
        no_verifier = await api.get(
            "/v1/connections/trello/callback", params={"oauth_token": "req-1"}
        )
        assert no_verifier.status_code == 400
        assert no_verifier.json()["error"]["code"] == "authorization_incomplete"
        assert "consent was not given" in no_verifier.json()["error"]["message"]
        nothing = await api.get("/v1/connections/trello/callback")
        assert nothing.status_code == 400
        assert len(connector.calls) == calls_so_far  # refused before reaching the connector
    assert connector.calls[0] == (
        "POST",
        "/internal/v1/oauth/callback",
        {"oauth_token": "req-1", "oauth_verifier": "v-1"},
    )


async def test_through_the_connector_and_the_trello_emulator(
    start: Start, issue_token: Callable[[str, str], Awaitable[str]], tmp_path: Path
) -> None:
    emulator = create_trello_emulator(api_secret="app-secret")
    member = get_emulator(emulator).add_member("ada", "Ada Lovelace").id
    connector = create_trello_connector(
        TrelloSettings(
            bus="inprocess",
            api_url="http://127.0.0.1:9101/1",
            oauth_url="http://127.0.0.1:9101/1",
            api_key="sandbox-key",
            api_secret="app-secret",
            public_url="http://gateway.test",
            database_url=f"sqlite+aiosqlite:///{tmp_path}/trello.db",
            token_encryption_key=generate_key(),
            reconcile_interval=3600,
        ),
        bus=InProcessBus(),
        trello_transport=httpx.ASGITransport(app=emulator),
    )
    headers = {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}
    async with (
        connector.router.lifespan_context(connector),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emulator), base_url="http://127.0.0.1:9101"
        ) as browser_at_trello,
    ):
        async for api in start(httpx.ASGITransport(app=connector)):
            sent = await api.get("/v1/connections/trello/authorize", headers=headers)
            assert sent.status_code == 302, sent.text
            page = await browser_at_trello.get(sent.headers["location"])
            assert "Let Tether use your Trello account?" in page.text
            request_token = dict(parse_qsl(urlsplit(sent.headers["location"]).query))
            allowed = await browser_at_trello.post(
                "/1/OAuthAuthorizeToken",
                data={"oauth_token": request_token["oauth_token"], "member": member},
            )
            assert allowed.status_code == 303, allowed.text
            back = urlsplit(allowed.headers["location"])
            # Trello sends the browser to the gateway's own callback route.
            assert (back.scheme, back.netloc) == ("http", "gateway.test")
            done = await api.get(f"{back.path}?{back.query}")
            assert done.status_code == 201, done.text
            assert done.json()["account_id"] == member
            listed = (await api.get("/v1/connections", headers=headers)).json()
            assert [c["id"] for c in listed] == [done.json()["id"]]
            replayed = await api.get(f"{back.path}?{back.query}")
            assert replayed.status_code == 400
            assert replayed.json()["error"]["code"] == "authorization_unknown"
