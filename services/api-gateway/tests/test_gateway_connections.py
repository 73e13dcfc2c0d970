"""Connections are routed to the connector of their provider, with clear answers when it
refuses or is unreachable; no endpoint knows one provider from another, except the Trello
list-mapping alias, which translates to the status mapping every connector serves."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings
from tether_common.errors import error_body, invalid_input_body

IssueToken = Callable[[str, str], Awaitable[str]]
Start = Callable[..., AsyncIterator[httpx.AsyncClient]]
Handler = Callable[[httpx.Request], httpx.Response]

CONNECTION = {
    "id": "trello_abc123",
    "provider": "trello",
    "account_id": "m1",
    "account_name": "ada",
    "status": "active",
    "error": None,
    "created_at": "2026-11-28T10:00:00Z",
}
JIRA_CONNECTION = {
    **CONNECTION,
    "id": "jira_def456",
    "provider": "jira",
    "account_name": "ada@acme.test",
}
TARGETS = {
    "containers": [
        {
            "id": "b1",
            "name": "Work",
            "kind": "board",
            "group": None,
            "places": [
                {"id": "l1", "name": "To do", "target": {"list_id": "l1"}},
                {"id": "l2", "name": "Done", "target": {"list_id": "l2"}},
            ],
        }
    ]
}


def not_found(provider: str) -> httpx.Response:
    error = {"code": "connection_not_found", "message": f"no {provider} connection"}
    return httpx.Response(404, json={"error": error})


def fake_trello(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.method == "POST" and path.endswith("/connections"):
        if json.loads(request.content) == {"token": "good-token"}:
            return httpx.Response(201, json=CONNECTION)
        return httpx.Response(
            400,
            json={
                "error": {
                    "code": "token_rejected",
                    "message": "Trello rejected the token: invalid token",
                }
            },
        )
    if path.endswith("/connections"):
        return httpx.Response(200, json=[CONNECTION])
    if path.endswith("/trello_abc123/targets"):
        return httpx.Response(200, json=TARGETS)
    return not_found("trello")


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


class Recorder:
    """A connector's transport that records what it was asked: (method, path, JSON body)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[tuple[str, str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body))
        return self.handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


@pytest.fixture
def start(settings: GatewaySettings) -> Start:
    """The gateway with a connector for exactly the providers given a transport."""

    async def run(
        trello: httpx.AsyncBaseTransport, **others: httpx.AsyncBaseTransport
    ) -> AsyncIterator[httpx.AsyncClient]:
        transports = {"trello": trello, **others}
        unset = {
            f"{p}_connector_url": None for p in ("trello", "asana", "jira") if p not in transports
        }
        app = create_app(
            settings.model_copy(update=unset),
            task_core_transport=httpx.MockTransport(unreachable),
            connector_transports=transports,
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


async def test_connect_list_and_targets(start: Start, headers: dict[str, str]) -> None:
    async for api in start(httpx.MockTransport(fake_trello)):
        created = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "good-token"}
        )
        assert created.status_code == 201
        assert created.json() == CONNECTION
        assert [c["id"] for c in (await api.get("/v1/connections", headers=headers)).json()] == [
            "trello_abc123"
        ]
        targets = await api.get("/v1/connections/trello_abc123/targets", headers=headers)
        assert targets.status_code == 200, targets.text
        # A connector that names no kinds of item (Trello) answers containers of one kind.
        assert targets.json() == {"containers": [{**TARGETS["containers"][0], "kinds": []}]}


async def test_refusals_are_specific(start: Start, headers: dict[str, str]) -> None:
    async for api in start(httpx.MockTransport(fake_trello)):
        rejected = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "stale-token"}
        )
        assert rejected.status_code == 400
        assert rejected.json()["error"]["code"] == "token_rejected"
        assert "invalid token" in rejected.json()["error"]["message"]
        # No Asana connector in this deployment.
        asana = await api.post(
            "/v1/connections",
            headers=headers,
            json={"provider": "asana", "token": "whatever-token"},
        )
        assert asana.status_code == 422
        assert asana.json()["error"]["details"][0]["loc"] == ["body", "provider"]
        assert "no Asana connector" in asana.json()["error"]["details"][0]["message"]
        unknown = await api.get("/v1/connections/trello_nope/targets", headers=headers)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "connection_not_found"
        not_an_id = await api.get("/v1/connections/nope/targets", headers=headers)
        assert not_an_id.status_code == 422
        assert not_an_id.json()["error"]["details"][0]["loc"] == ["path", "connection_id"]
        unserved = await api.get("/v1/connections/jira_1/targets", headers=headers)
        assert unserved.status_code == 422
        assert unserved.json()["error"]["details"][0]["loc"] == ["path", "connection_id"]
        anonymous = await api.get("/v1/connections")
        assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("provider", "credentials"),
    [
        ("trello", {"token": "t-1"}),
        ("asana", {"token": "1/2345:abcdef"}),
        ("jira", {"site_url": "https://acme.atlassian.net", "email": "a@b.c", "api_token": "x"}),
    ],
)
async def test_every_credential_but_the_provider_goes_to_that_providers_connector(
    start: Start, headers: dict[str, str], provider: str, credentials: dict[str, str]
) -> None:
    def creates(name: str) -> Handler:
        made = {**CONNECTION, "id": f"{name}_1", "provider": name}
        return lambda _: httpx.Response(201, json=made)

    connectors = {p: Recorder(creates(p)) for p in ("trello", "asana", "jira")}
    transports = {p: r.transport for p, r in connectors.items()}
    async for api in start(**transports):
        created = await api.post(
            "/v1/connections", headers=headers, json={"provider": provider, **credentials}
        )
        me = (await api.get("/v1/me", headers=headers)).json()
    assert created.status_code == 201, created.text
    assert connectors[provider].calls == [
        ("POST", f"/internal/v1/tenants/{me['tenant']['id']}/connections", credentials)
    ]
    assert [p for p, r in connectors.items() if r.calls] == [provider]


async def test_the_connectors_422_names_the_credential(
    start: Start, headers: dict[str, str]
) -> None:
    def jira(_: httpx.Request) -> httpx.Response:
        detail = [{"type": "missing", "loc": ["body", "api_token"], "msg": "Field required"}]
        return httpx.Response(422, json=invalid_input_body(detail))

    async for api in start(httpx.MockTransport(fake_trello), jira=httpx.MockTransport(jira)):
        refused = await api.post(
            "/v1/connections",
            headers=headers,
            json={"provider": "jira", "site_url": "https://acme.atlassian.net", "email": "a@b.c"},
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "api_token"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"token": "t"}, ["body", "provider"]),
        ({"provider": "github", "token": "t"}, ["body", "provider"]),
        ({"provider": "trello", "token": 12345678}, ["body", "token"]),
        ({"provider": "trello", "token": "t" * 4097}, ["body", "token"]),
        ({"provider": "trello", **{f"f{n}": "x" for n in range(9)}}, ["body"]),
    ],
    ids=["no-provider", "unknown-provider", "not-a-string", "too-long", "too-many"],
)
async def test_what_the_gateway_judges_itself_never_reaches_a_connector(
    start: Start, headers: dict[str, str], body: dict[str, Any], loc: list[str]
) -> None:
    trello = Recorder(fake_trello)
    async for api in start(trello.transport):
        refused = await api.post("/v1/connections", headers=headers, json=body)
    assert refused.status_code == 422
    assert loc in [e["loc"] for e in refused.json()["error"]["details"]]
    assert trello.calls == []


async def test_connections_are_listed_from_every_configured_connector(
    start: Start, headers: dict[str, str]
) -> None:
    jira = Recorder(lambda _: httpx.Response(200, json=[JIRA_CONNECTION]))
    async for api in start(httpx.MockTransport(fake_trello), jira=jira.transport):
        listed = await api.get("/v1/connections", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()] == ["trello_abc123", "jira_def456"]
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in jira.calls] == [("GET", "connections")]


async def test_a_connector_outage_is_a_503(start: Start, headers: dict[str, str]) -> None:
    async for api in start(httpx.MockTransport(unreachable)):
        answer = await api.post(
            "/v1/connections", headers=headers, json={"provider": "trello", "token": "good-token"}
        )
        assert answer.status_code == 503
        assert "trello connector is unreachable" in answer.json()["error"]["message"]
    # One connector down among several: no partial list.
    async for api in start(
        httpx.MockTransport(fake_trello), asana=httpx.MockTransport(unreachable)
    ):
        listed = await api.get("/v1/connections", headers=headers)
        assert listed.status_code == 503
        assert listed.json()["error"]["code"] == "upstream_unavailable"
        assert "asana connector is unreachable" in listed.json()["error"]["message"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(200, json={"boards": []}), "invalid Targets"),
        (httpx.Response(404, json={"detail": "Not Found"}), "does not serve"),
        (httpx.Response(404, json=error_body("route_not_found", "Not Found")), "does not serve"),
        (httpx.Response(401, json={"detail": "?"}), "HTTP 401"),
    ],
    ids=["old-shape", "no-such-route", "no-such-route-of-ours", "unexpected-status"],
)
async def test_a_connector_answering_outside_the_contract_is_a_502(
    start: Start, headers: dict[str, str], answer: httpx.Response, message: str
) -> None:
    async for api in start(httpx.MockTransport(lambda _: answer)):
        response = await api.get("/v1/connections/trello_abc123/targets", headers=headers)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert message in response.json()["error"]["message"]


async def test_held_deletions_are_listed_and_confirmed_through_the_connector(
    start: Start, headers: dict[str, str]
) -> None:
    seen: list[tuple[str, str]] = []

    def trello(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path.endswith("/trello_abc123/deletions"):
            return httpx.Response(
                200,
                json={
                    "connection_id": "trello_abc123",
                    "paused": True,
                    "approved_until": None,
                    "held": [
                        {
                            "link_id": "l9",
                            "task_id": "t9",
                            "direction": "provider",
                            "held_at": "2026-11-28T10:00:00Z",
                        }
                    ],
                },
            )
        if request.url.path.endswith("/trello_abc123/deletions/confirm"):
            return httpx.Response(200, json={"propagated": 1, "withdrawn": 0})
        return fake_trello(request)

    async for api in start(httpx.MockTransport(trello)):
        held = await api.get("/v1/connections/trello_abc123/deletions", headers=headers)
        assert held.status_code == 200, held.text
        assert held.json()["paused"] is True
        assert [h["link_id"] for h in held.json()["held"]] == ["l9"]
        confirmed = await api.post(
            "/v1/connections/trello_abc123/deletions/confirm", headers=headers
        )
        assert confirmed.json() == {"propagated": 1, "withdrawn": 0}
        unknown = await api.post("/v1/connections/trello_nope/deletions/confirm", headers=headers)
        assert unknown.status_code == 404
        assert (await api.get("/v1/connections/trello_abc123/deletions")).status_code == 401
    # Routed to the connector under the caller's tenant, never a tenant the client names.
    deletion_calls = [(method, path) for method, path in seen if "/deletions" in path]
    assert deletion_calls[:2] == [
        ("GET", deletion_calls[0][1]),
        ("POST", deletion_calls[0][1] + "/confirm"),
    ]
    assert deletion_calls[0][1].startswith("/internal/v1/tenants/")
    assert deletion_calls[0][1].endswith("/connections/trello_abc123/deletions")


class StatusMappings:
    """A connector's status mapping endpoint: places must be the account's (b1's l1, l2)."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self.stored: list[dict[str, str]] = []
        self.received: list[Any] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith(f"/{self.connection_id}/status-mapping"):
            return not_found(self.connection_id.split("_")[0])
        if request.method == "PUT":
            places = json.loads(request.content)["places"]
            self.received.append(json.loads(request.content))
            unknown = [p for p in places if p not in ("l1", "l2")]
            if unknown:
                msg = "not a place of this account"
                detail = [
                    {"type": "value_error", "loc": ["body", "places", unknown[0]], "msg": msg}
                ]
                return httpx.Response(422, json=invalid_input_body(detail))
            self.stored = [
                {"place_id": k, "container_id": "b1", "meaning": v} for k, v in places.items()
            ]
        return httpx.Response(
            200, json={"connection_id": self.connection_id, "places": self.stored}
        )


async def test_the_status_mapping_passes_through_in_places(
    start: Start, headers: dict[str, str]
) -> None:
    jira = StatusMappings("jira_def456")
    url = "/v1/connections/jira_def456/status-mapping"
    async for api in start(httpx.MockTransport(fake_trello), jira=httpx.MockTransport(jira.handle)):
        saved = await api.put(url, headers=headers, json={"places": {"l1": "not_done"}})
        assert saved.status_code == 200, saved.text
        assert saved.json() == {
            "connection_id": "jira_def456",
            "places": [{"place_id": "l1", "container_id": "b1", "meaning": "not_done"}],
        }
        assert (await api.get(url, headers=headers)).json() == saved.json()
        refused = await api.put(url, headers=headers, json={"places": {"nope": "done"}})
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["loc"] == ["body", "places", "nope"]
        bad = await api.put(url, headers=headers, json={"places": {"l1": "finished"}})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["loc"][:3] == ["body", "places", "l1"]
        missing = await api.get("/v1/connections/jira_zzz/status-mapping", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "connection_not_found"
    assert jira.received == [{"places": {"l1": "not_done"}}, {"places": {"nope": "done"}}]


async def test_the_list_mapping_is_the_status_mapping_in_trellos_words(
    start: Start, headers: dict[str, str]
) -> None:
    trello = StatusMappings("trello_abc123")
    url = "/v1/connections/trello_abc123/list-mapping"
    async for api in start(httpx.MockTransport(trello.handle)):
        saved = await api.put(
            url, headers=headers, json={"lists": {"l1": "not_done", "l2": "done"}}
        )
        assert saved.status_code == 200, saved.text
        # The connector heard places; the client hears lists on boards.
        assert trello.received == [{"places": {"l1": "not_done", "l2": "done"}}]
        assert saved.json() == {
            "connection_id": "trello_abc123",
            "lists": [
                {"list_id": "l1", "board_id": "b1", "meaning": "not_done"},
                {"list_id": "l2", "board_id": "b1", "meaning": "done"},
            ],
        }
        assert (await api.get(url, headers=headers)).json() == saved.json()
        status_mapping = await api.get(
            "/v1/connections/trello_abc123/status-mapping", headers=headers
        )
        assert [p["place_id"] for p in status_mapping.json()["places"]] == ["l1", "l2"]
        # The connector's refusal of a place is the refusal of the list the client named.
        refused = await api.put(url, headers=headers, json={"lists": {"nope": "done"}})
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["loc"] == ["body", "lists", "nope"]
        assert refused.json()["error"]["details"][0]["message"] == "not a place of this account"
        bad = await api.put(url, headers=headers, json={"lists": {"l1": "finished"}})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["loc"][:3] == ["body", "lists", "l1"]
        assert len(trello.received) == 2  # the bad meaning never left the gateway


async def test_the_list_mapping_is_trellos_only(start: Start, headers: dict[str, str]) -> None:
    asana = Recorder(lambda _: httpx.Response(500))
    async for api in start(httpx.MockTransport(fake_trello), asana=asana.transport):
        for method, body in (("GET", None), ("PUT", {"lists": {"s1": "done"}})):
            refused = await api.request(
                method, "/v1/connections/asana_1/list-mapping", headers=headers, json=body
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["details"][0]["loc"] == ["path", "connection_id"]
            assert "status-mapping" in refused.json()["error"]["details"][0]["message"]
    assert asana.calls == []


async def test_disconnect_is_the_connectors_and_answers_204(
    start: Start, headers: dict[str, str]
) -> None:
    def trello(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and request.url.path.endswith("/trello_abc123"):
            return httpx.Response(204)
        return not_found("trello")

    connector = Recorder(trello)
    async for api in start(connector.transport):
        gone = await api.delete("/v1/connections/trello_abc123", headers=headers)
        assert gone.status_code == 204, gone.text
        assert gone.content == b""
        [(method, path, body)] = connector.calls
        assert (method, body) == ("DELETE", None)
        assert re.fullmatch(r"/internal/v1/tenants/[^/]+/connections/trello_abc123", path)
        again = await api.delete("/v1/connections/trello_other", headers=headers)
        assert again.status_code == 404
        assert again.json()["error"]["code"] == "connection_not_found"
        # An id no provider's connections have is the client's mistake, as on every route.
        unknown = await api.delete("/v1/connections/nosuchprovider_1", headers=headers)
        assert unknown.status_code == 422
        assert len(connector.calls) == 2
