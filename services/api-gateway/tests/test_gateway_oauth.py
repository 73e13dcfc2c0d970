"""Consent flows of any provider: authorize starts one at the provider's connector for the
caller, the callback passes whatever the provider sent back on, and the gateway refuses only
what is plainly no consent. Trello's own flow is in test_gateway_trello_oauth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings

IssueToken = Callable[[str, str], Awaitable[str]]
Start = Callable[[httpx.AsyncBaseTransport], AsyncIterator[httpx.AsyncClient]]

AUTHORIZE_URL = "https://app.asana.com/-/oauth_authorize?client_id=c&state=s-1"
CONNECTION = {
    "id": "asana_1a2b",
    "provider": "asana",
    "account_id": "u1",
    "account_name": "Ada",
    "status": "active",
    "error": None,
    "created_at": "2026-11-28T10:00:00Z",
}


class FakeAsana:
    """The Asana connector's consent flow (OAuth 2), recording what the gateway sends it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.calls.append((request.method, request.url.path, body))
        if request.url.path.endswith("/oauth/authorize"):
            started = {"authorize_url": AUTHORIZE_URL, "expires_at": "2026-11-28T10:10:00Z"}
            return httpx.Response(200, json=started)
        if request.url.path == "/internal/v1/oauth/callback":
            if body.get("state") == "s-1" and body.get("code") == "c-1":
                return httpx.Response(201, json=CONNECTION)
            error = {"code": "authorization_unknown", "message": "no flow waits for this state"}
            return httpx.Response(400, json={"error": error})
        return httpx.Response(404, json={"detail": "Not Found"})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


@pytest.fixture
def start(settings: GatewaySettings) -> Start:
    """The gateway with an Asana connector only (Trello and Jira are not configured)."""

    async def run(asana: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            settings.model_copy(update={"trello_connector_url": None, "jira_connector_url": None}),
            task_core_transport=httpx.MockTransport(lambda r: httpx.Response(503)),
            connector_transports={"asana": asana},
        )
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
            ) as client,
        ):
            yield client

    return run


@pytest.fixture
async def headers(issue_token: IssueToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await issue_token('acme', 'ada@example.com')}"}


async def test_authorize_starts_the_providers_flow_for_the_caller(
    start: Start, headers: dict[str, str]
) -> None:
    asana = FakeAsana()
    async for api in start(asana.transport):
        me = (await api.get("/v1/me", headers=headers)).json()
        sent = await api.get("/v1/connections/asana/authorize", headers=headers)
        assert sent.status_code == 302
        assert sent.headers["location"] == AUTHORIZE_URL
        as_json = await api.get(
            "/v1/connections/asana/authorize", params={"redirect": "false"}, headers=headers
        )
        assert as_json.status_code == 200
        assert as_json.json() == {
            "authorize_url": AUTHORIZE_URL,
            "expires_at": "2026-11-28T10:10:00Z",
        }
        assert (await api.get("/v1/connections/asana/authorize")).status_code == 401
    expected = (
        "POST",
        f"/internal/v1/tenants/{me['tenant']['id']}/oauth/authorize",
        {"user_id": me["user"]["id"], "time_zone": "UTC"},
    )
    assert asana.calls == [expected, expected]


async def test_the_callback_passes_every_query_parameter_on(start: Start) -> None:
    asana = FakeAsana()
    async for api in start(asana.transport):
        done = await api.get(
            "/v1/connections/asana/callback",
            params={"code": "c-1", "state": "s-1", "scope": "default"},
        )
        assert done.status_code == 201, done.text
        assert done.json() == CONNECTION
        refused = await api.get(
            "/v1/connections/asana/callback", params={"code": "c-1", "state": "s-0"}
        )
        # The connector judges what it was sent; its refusal reaches the person as it is.
        assert refused.status_code == 400
        assert refused.json() == {
            "error": {"code": "authorization_unknown", "message": "no flow waits for this state"}
        }
    assert [body for _, _, body in asana.calls] == [
        {"code": "c-1", "state": "s-1", "scope": "default"},
        {"code": "c-1", "state": "s-0"},
    ]
    assert {path for _, path, _ in asana.calls} == {"/internal/v1/oauth/callback"}


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("", "authorization_incomplete", "carries nothing"),
        ("error=access_denied&state=s-1", "authorization_incomplete", "consent was not given"),
        (
            "error=access_denied&error_description=The+user+said+no",
            "authorization_incomplete",
            "The user said no",
        ),
        ("oauth_token=req-1", "authorization_incomplete", "no oauth_verifier"),
        ("code=c-1&state=s-1&state=s-2", "callback_invalid", "came twice"),
        ("code=" + "x" * 4097, "callback_invalid", "not a callback"),
    ],
    ids=["nothing", "declined", "declined-with-reason", "oauth1-declined", "twice", "oversized"],
)
async def test_plainly_no_consent_is_refused_before_the_connector(
    start: Start, query: str, code: str, words: str
) -> None:
    asana = FakeAsana()
    async for api in start(asana.transport):
        refused = await api.get(f"/v1/connections/asana/callback?{query}")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert "GET /v1/connections/asana/authorize" in error["message"]
    assert asana.calls == []


@pytest.mark.parametrize("step", ["authorize", "callback"])
@pytest.mark.parametrize(
    ("provider", "code"),
    [("github", "unknown_provider"), ("jira", "provider_not_configured")],
)
async def test_a_provider_without_a_connector_is_a_404(
    start: Start, headers: dict[str, str], step: str, provider: str, code: str
) -> None:
    asana = FakeAsana()
    async for api in start(asana.transport):
        answer = await api.get(
            f"/v1/connections/{provider}/{step}?code=c-1&state=s-1", headers=headers
        )
    assert answer.status_code == 404
    assert set(answer.json()) == {"error"}
    assert answer.json()["error"]["code"] == code
    assert asana.calls == []


async def test_a_connector_without_a_consent_flow_says_so(
    start: Start, headers: dict[str, str]
) -> None:
    bare = httpx.MockTransport(lambda _: httpx.Response(404, json={"detail": "Not Found"}))
    async for api in start(bare):
        started = await api.get("/v1/connections/asana/authorize", headers=headers)
        finished = await api.get("/v1/connections/asana/callback?code=c&state=s")
    for answer in (started, finished):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "consent_flow_unavailable"
        assert "POST /v1/connections" in answer.json()["error"]["message"]


async def test_an_unreachable_connector_is_a_503(start: Start, headers: dict[str, str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async for api in start(httpx.MockTransport(refuse)):
        started = await api.get("/v1/connections/asana/authorize", headers=headers)
        finished = await api.get("/v1/connections/asana/callback?code=c&state=s")
    for answer in (started, finished):
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "upstream_unavailable"
        assert "asana connector is unreachable" in answer.json()["error"]["message"]


async def test_a_failure_the_connector_names_reaches_the_client_with_its_code(
    start: Start, headers: dict[str, str]
) -> None:
    """The connector's own 503 ``oauth_not_configured`` (no app credentials in this
    deployment) is what the person needs to read; a bare 500 stays our generic outage."""

    def not_configured(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/authorize"):
            error = {"code": "oauth_not_configured", "message": "set TETHER_ASANA_CLIENT_ID"}
            return httpx.Response(503, json={"error": error})
        error = {"code": "internal_error", "message": "an unexpected error occurred"}
        return httpx.Response(500, json={"error": error})

    async for api in start(httpx.MockTransport(not_configured)):
        started = await api.get("/v1/connections/asana/authorize", headers=headers)
        finished = await api.get("/v1/connections/asana/callback?code=c&state=s")
    assert started.status_code == 503
    assert started.json()["error"] == {
        "code": "oauth_not_configured",
        "message": "set TETHER_ASANA_CLIENT_ID",
    }
    assert finished.status_code == 503
    assert finished.json()["error"]["code"] == "upstream_unavailable"
