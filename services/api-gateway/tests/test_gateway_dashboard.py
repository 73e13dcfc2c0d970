"""The dashboard's pages through the gateway app: log-in and its cookie, what each panel shows,
tenant isolation, choosing a conflict's other value, replaying a parked event, and CSRF."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
import pytest

from tether_contracts.connections import ConnectionOut, ConnectionStatus, Container, Place, Targets
from tether_contracts.operations import DeadLetterOut, LinkHealthOut, ReplayedOut, WebhookOut
from tether_contracts.sync import ConflictOut, LinkOut, Provider
from tether_contracts.tasks import TaskCreate, TaskOut

CONNECTIONS = re.compile(r"^/internal/v1/tenants/(?P<tenant>[^/]+)/connections$")
ONE_CONNECTION = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/connections/(?P<id>[^/]+)(?P<targets>/targets)?$"
)
OPERATIONS = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/(?P<part>links|webhooks|dead-letters)"
    r"(?:/(?P<record>[^/]+)/replay)?$"
)
NOW = datetime.now(UTC)
IssueToken = Callable[[str, str], Awaitable[str]]


class FakeTaskCore(Protocol):
    """What these tests use of conftest's fake task-core."""

    tasks: dict[str, dict[str, TaskOut]]
    conflicts: dict[str, list[ConflictOut]]
    links: dict[str, list[LinkOut]]  # by task id
    requests: list[httpx.Request]


class OperatorFakeConnectors:
    """Fake connectors serving what the dashboard reads, per tenant: connections, links,
    webhooks and dead letters, and the replay of a dead letter."""

    def __init__(self) -> None:
        self.connections: dict[str, list[ConnectionOut]] = {}
        self.links: dict[str, list[LinkHealthOut]] = {}
        self.webhooks: dict[str, list[WebhookOut]] = {}
        self.parked: dict[str, list[DeadLetterOut]] = {}
        self.replayed: list[tuple[str, str]] = []  # (tenant, record id)
        self.targets: dict[str, Targets] = {}  # by connection id
        self.unreachable: set[Provider] = set()

    def add(self, tenant_id: str, connection_id: str, status: ConnectionStatus) -> None:
        connection = ConnectionOut(
            id=connection_id,
            provider="trello",
            account_id="m1",
            account_name="ada",
            status=status,
            error="token revoked" if status == "broken" else None,
            broken_since=NOW if status == "broken" else None,
            created_at=NOW,
        )
        self.connections.setdefault(tenant_id, []).append(connection)

    def transport(self, provider: Provider) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self._handle(provider, request))

    def _handle(self, provider: Provider, request: httpx.Request) -> httpx.Response:
        if provider in self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        if (listed := CONNECTIONS.match(request.url.path)) is not None:
            mine = [c for c in self.connections.get(listed["tenant"], []) if c.provider == provider]
            return httpx.Response(200, json=[c.model_dump(mode="json") for c in mine])
        if (one := ONE_CONNECTION.match(request.url.path)) is not None:
            return self._connection(one["tenant"], one["id"], bool(one["targets"]))
        match = OPERATIONS.match(request.url.path)
        if match is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        tenant, part = match["tenant"], match["part"]
        if match["record"] is not None:
            parked = [d for d in self.parked.get(tenant, []) if d.provider == provider]
            found = next((d for d in parked if d.id == match["record"]), None)
            if found is None or request.method != "POST":
                error = {"code": "dead_letter_not_found", "message": "no such dead letter"}
                return httpx.Response(404, json={"error": error})
            self.replayed.append((tenant, found.id))
            done = ReplayedOut(id=found.id, event_id=found.event_id, original_topic="t")
            return httpx.Response(200, content=done.model_dump_json())
        rows: list[LinkHealthOut] | list[WebhookOut] | list[DeadLetterOut]
        if part == "links":
            rows = [r for r in self.links.get(tenant, []) if r.provider == provider]
        elif part == "webhooks":
            rows = [
                w for w in self.webhooks.get(tenant, []) if w.connection_id.startswith(provider)
            ]
        else:
            rows = [d for d in self.parked.get(tenant, []) if d.provider == provider]
        return httpx.Response(200, json=[r.model_dump(mode="json") for r in rows])

    def _connection(self, tenant: str, connection_id: str, targets: bool) -> httpx.Response:
        found = next((c for c in self.connections.get(tenant, []) if c.id == connection_id), None)
        if found is None:
            error = {"code": "connection_not_found", "message": "no such connection"}
            return httpx.Response(404, json={"error": error})
        if targets:
            return httpx.Response(200, content=self.targets[connection_id].model_dump_json())
        return httpx.Response(200, content=found.model_dump_json())


@pytest.fixture
def fake_connectors() -> OperatorFakeConnectors:
    return OperatorFakeConnectors()


def link(task_id: str, status: str = "active", **extra: object) -> LinkHealthOut:
    values: dict[str, object] = {
        "link_id": f"link-{task_id}",
        "task_id": task_id,
        "provider": "trello",
        "connection_id": "trello_c1",
        "status": status,
        "state": "ok",
        "external_id": f"card-{task_id}",
        "url": f"https://trello.test/c/{task_id}",
        "attempts": 0,
        "next_attempt_at": None,
        "retry_until": None,
        "last_error": None,
        "last_sync": NOW,
    }
    return LinkHealthOut.model_validate(values | extra)


def conflict(conflict_id: str, task_id: str, core: str, provider: str) -> ConflictOut:
    return ConflictOut(
        id=conflict_id,
        task_id=task_id,
        field="title",
        base_value="Base",
        core_value=core,
        provider_value=provider,
        core_replica="core",
        provider_replica="trello:card-1",
        winner="trello:card-1",
        winning_value=provider,
        policy="latest_wins",
        resolved_at=NOW,
    )


def dead_letter(record_id: str, task_id: str) -> DeadLetterOut:
    return DeadLetterOut(
        id=record_id,
        provider="trello",
        event_id=f"event-{record_id}",
        event_type="tether.task.changed.v1",
        task_id=task_id,
        original_topic="tether.task-changed.v1",
        consumer="trello-connector.task-changed",
        error="ValueError: cannot map this",
        attempts=5,
        failed_at=NOW,
    )


async def log_in(client: httpx.AsyncClient, token: str) -> None:
    answer = await client.post("/dashboard/login", data={"token": token})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dashboard"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, "no CSRF field on the page"
    return found[1]


@pytest.fixture
async def world(
    client: httpx.AsyncClient,
    fake_task_core: FakeTaskCore,
    fake_connectors: OperatorFakeConnectors,
    issue_token: IssueToken,
) -> dict[str, str]:
    """Two tenants, acme and globex, each with a task, a connection, a link, a conflict and a
    parked event; returns acme's token and ids. The session logs in as acme."""
    ids: dict[str, str] = {}
    for tenant, status in (("acme", "broken"), ("globex", "broken")):
        token = await issue_token(tenant, f"ops@{tenant}.test")
        tenant_id = await _tenant_id(client, token)
        created = await client.post(
            "/v1/tasks",
            json=TaskCreate(title=f"{tenant} task").model_dump(mode="json"),
            headers={"Authorization": f"Bearer {token}"},
        )
        task_id = created.json()["id"]
        connection_status: ConnectionStatus = "broken" if status == "broken" else "active"
        fake_connectors.add(tenant_id, f"trello_{tenant}", connection_status)
        fake_connectors.webhooks[tenant_id] = [
            WebhookOut(
                connection_id=f"trello_{tenant}",
                model_id=f"board-{tenant}",
                registered=True,
                expires_at=NOW + timedelta(days=2),
            )
        ]
        fake_connectors.links[tenant_id] = [
            link(task_id, connection_id=f"trello_{tenant}"),
            link(
                f"{tenant}-waiting",
                status="active",
                state="retrying",
                attempts=3,
                next_attempt_at=NOW + timedelta(minutes=1),
                retry_until=NOW + timedelta(hours=1),
                last_error=f"{tenant}: provider answered 503",
            ),
        ]
        fake_task_core.conflicts[tenant_id] = [
            conflict(f"conflict-{tenant}", task_id, f"{tenant} core title", f"{tenant} card title")
        ]
        fake_connectors.parked[tenant_id] = [dead_letter(f"0:{len(ids)}", task_id)]
        ids |= {f"{tenant}_token": token, f"{tenant}_task": task_id, f"{tenant}_id": tenant_id}
    await log_in(client, ids["acme_token"])
    return ids


async def _tenant_id(client: httpx.AsyncClient, token: str) -> str:
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return str(me.json()["tenant"]["id"])


# -- log-in and its cookie ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/panels/links", "/tasks/t1"])
async def test_without_a_session_every_page_sends_to_the_login(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(f"/dashboard{path}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"
    login = await client.get("/dashboard/login")
    assert login.status_code == 200
    assert 'name="token"' in login.text


async def test_a_panel_refreshing_without_a_session_sends_the_whole_page_to_the_login(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/dashboard/panels/links", headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"] == "/dashboard/login"


async def test_an_unknown_token_is_refused_and_sets_no_cookie(client: httpx.AsyncClient) -> None:
    answer = await client.post("/dashboard/login", data={"token": "tth_not-a-real-token"})
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.text
    assert "set-cookie" not in answer.headers


async def test_the_session_cookie_is_httponly_strict_and_scoped(
    client: httpx.AsyncClient, issue_token: IssueToken
) -> None:
    token = await issue_token("acme", "ops@acme.test")
    answer = await client.post("/dashboard/login", data={"token": token})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"tether_dashboard={token};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here: a Secure cookie would never come back
    secure = await client.post("https://gateway.test/dashboard/login", data={"token": token})
    assert "Secure" in secure.headers["set-cookie"]


async def test_logout_clears_the_cookie(client: httpx.AsyncClient, world: dict[str, str]) -> None:
    page = await client.get("/dashboard")
    answer = await client.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    assert 'tether_dashboard=""' in answer.headers["set-cookie"]
    again = await client.get("/dashboard")
    assert again.status_code == 303
    assert again.headers["location"] == "/dashboard/login"


async def test_a_revoked_token_ends_the_session(
    client: httpx.AsyncClient,
    world: dict[str, str],
    revoke_token: Callable[[str], Awaitable[None]],
) -> None:
    assert (await client.get("/dashboard")).status_code == 200
    await revoke_token(world["acme_token"])
    answer = await client.get("/dashboard")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


# -- what the panels show, and only the tenant's ---------------------------------------------


async def test_the_overview_shows_the_tenants_panels_and_nothing_of_another(
    client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    # Connections and their health: broken, with why, and a webhook about to expire.
    assert 'data-connection="trello_acme" data-health="broken"' in html
    assert "token revoked" in html
    assert "webhook on board-acme expires" in html
    # Links with state and last sync, and the one waiting to retry with its schedule.
    assert f'data-task="{world["acme_task"]}" data-status="active" data-state="ok"' in html
    assert "acme task" in html  # the title, looked up in task-core
    assert "acme: provider answered 503" in html
    assert "attempt 3" in html
    # Conflicts with both values and the button choosing the one that lost.
    assert "acme core title" in html
    assert "acme card title" in html
    assert "Choose “acme core title”" in html
    # Parked events with their replay.
    assert 'data-dead-letter="0:0"' in html
    assert "cannot map this" in html
    assert "/dashboard/dead-letters/trello/0:0/replay" in html
    for other in ("globex", world["globex_task"], world["globex_id"]):
        assert other not in html


async def test_each_panel_refreshes_alone(client: httpx.AsyncClient, world: dict[str, str]) -> None:
    links = await client.get("/dashboard/panels/links")
    assert links.status_code == 200
    assert "<html" not in links.text
    assert world["acme_task"] in links.text
    assert "globex" not in links.text
    retrying = await client.get("/dashboard/panels/retrying")
    assert "acme-waiting" in retrying.text
    assert world["acme_task"] not in retrying.text
    assert (await client.get("/dashboard/panels/nothing")).status_code == 404


async def test_a_panel_whose_source_is_down_says_so_and_the_others_still_show(
    client: httpx.AsyncClient, world: dict[str, str], fake_connectors: OperatorFakeConnectors
) -> None:
    fake_connectors.unreachable.add("trello")
    html = (await client.get("/dashboard")).text
    assert "Unavailable: upstream_unavailable" in html
    assert "acme core title" in html  # conflicts come from task-core, which answers


async def test_the_task_page_shows_activity_links_and_conflicts(
    client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    assert page.status_code == 200
    assert "Recent activity" in page.text
    assert 'data-version="1"' in page.text
    assert "acme core title" in page.text
    assert "Choose “acme core title”" in page.text
    other = await client.get(f"/dashboard/tasks/{world['globex_task']}")
    assert other.status_code == 404
    assert "globex task" not in other.text


# -- choosing the other value, replaying, and CSRF -------------------------------------------


async def test_choosing_the_other_value_makes_a_core_edit(
    client: httpx.AsyncClient, world: dict[str, str], fake_task_core: FakeTaskCore
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/conflicts/conflict-acme/choose",
        data={"csrf": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/dashboard/tasks/{task_id}?notice=")
    task = fake_task_core.tasks[world["acme_id"]][task_id]
    assert task.title == "acme core title"
    assert task.version == 2
    after = await client.get(answer.headers["location"])
    assert "the task holds this value now" in after.text
    overview = await client.get("/dashboard")
    assert "the task holds this value now" in overview.text
    assert "Choose “acme core title”" not in overview.text
    assert "a new core edit" in after.text


async def test_another_tenants_conflict_cannot_be_chosen(
    client: httpx.AsyncClient, world: dict[str, str], fake_task_core: FakeTaskCore
) -> None:
    page = await client.get("/dashboard")
    answer = await client.post(
        f"/dashboard/tasks/{world['globex_task']}/conflicts/conflict-globex/choose",
        data={"csrf": csrf_of(page.text)},
    )
    assert answer.status_code == 303
    assert "problem=" in answer.headers["location"]
    assert not [r for r in fake_task_core.requests if r.method == "PATCH"]


async def test_replay_asks_the_connector_for_the_tenants_record(
    client: httpx.AsyncClient, world: dict[str, str], fake_connectors: OperatorFakeConnectors
) -> None:
    page = await client.get("/dashboard")
    answer = await client.post(
        "/dashboard/dead-letters/trello/0:0/replay", data={"csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303
    assert "Replayed+event+event-0%3A0" in answer.headers["location"]
    assert fake_connectors.replayed == [(world["acme_id"], "0:0")]
    # globex's record (0:1) is not acme's to replay.
    refused = await client.post(
        "/dashboard/dead-letters/trello/0:1/replay", data={"csrf": csrf_of(page.text)}
    )
    assert "problem=" in refused.headers["location"]
    assert fake_connectors.replayed == [(world["acme_id"], "0:0")]


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        ({}, {}),
        ({"csrf": "0" * 64}, {}),
        ("same", {"Origin": "https://evil.test"}),
    ],
    ids=["missing", "wrong", "other-origin"],
)
async def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient,
    world: dict[str, str],
    fake_task_core: FakeTaskCore,
    fake_connectors: OperatorFakeConnectors,
    form: dict[str, str] | str,
    headers: dict[str, str],
) -> None:
    page = await client.get("/dashboard")
    data = {"csrf": csrf_of(page.text)} if isinstance(form, str) else form
    task_id = world["acme_task"]
    for path in (
        f"/dashboard/tasks/{task_id}/conflicts/conflict-acme/choose",
        "/dashboard/dead-letters/trello/0:0/replay",
        "/dashboard/logout",
    ):
        answer = await client.post(path, data=data, headers=headers)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "csrf_refused"
    assert not [r for r in fake_task_core.requests if r.method == "PATCH"]
    assert fake_connectors.replayed == []
    assert (await client.get("/dashboard")).status_code == 200  # still logged in


async def test_another_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, world: dict[str, str], issue_token: IssueToken
) -> None:
    mine = csrf_of((await client.get("/dashboard")).text)
    await log_in(client, await issue_token("acme", "second@acme.test"))
    answer = await client.post(
        f"/dashboard/tasks/{world['acme_task']}/conflicts/conflict-acme/choose",
        data={"csrf": mine},
    )
    assert answer.status_code == 403


async def test_static_assets_are_served_offline(client: httpx.AsyncClient) -> None:
    htmx = await client.get("/dashboard/static/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("/*! htmx")
    assert (await client.get("/dashboard/static/dashboard.css")).status_code == 200


# -- exporting from a task's page --------------------------------------------------------------


@pytest.fixture
def destination(world: dict[str, str], fake_connectors: OperatorFakeConnectors) -> str:
    """An active Trello connection of acme's with one board: its list "To do" is a place an
    export can name, its "Done" list one its connector gave no target. The option's value."""
    fake_connectors.add(world["acme_id"], "trello_acme2", "active")
    fake_connectors.targets["trello_acme2"] = Targets(
        containers=[
            Container(
                id="b1",
                name="Work",
                kind="board",
                places=[
                    Place(id="l1", name="To do", target={"list_id": "l1"}),
                    Place(id="l2", name="Done"),
                ],
            )
        ]
    )
    return json.dumps({"connection_id": "trello_acme2", "target": {"list_id": "l1"}})


async def test_the_export_form_offers_each_place_of_the_tenants_working_connections(
    client: httpx.AsyncClient, world: dict[str, str], destination: str
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    assert f'hx-get="/dashboard/tasks/{task_id}/destinations"' in page.text
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    assert form.status_code == 200
    options = dict(
        (html.unescape(label), html.unescape(value))
        for value, label in re.findall(r'<option value="([^"]+)">([^<]+)</option>', form.text)
    )
    # The broken connection (trello_acme) is not offered; the list without a target neither.
    assert options == {"Work / To do": destination}
    assert "globex" not in form.text


async def test_exporting_from_the_dashboard_registers_the_link_as_the_api_does(
    client: httpx.AsyncClient,
    world: dict[str, str],
    destination: str,
    fake_task_core: FakeTaskCore,
) -> None:
    task_id = world["acme_task"]
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports",
        data={"csrf": csrf_of(form.text), "destination": destination},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/dashboard/tasks/{task_id}?notice=")
    (link,) = fake_task_core.links[task_id]
    assert (link.connection_id, link.target, link.status) == (
        "trello_acme2",
        {"list_id": "l1"},
        "pending",
    )
    page = await client.get(answer.headers["location"])
    assert "Export to Trello accepted" in page.text
    assert 'data-status="pending"' in page.text


@pytest.mark.parametrize(
    ("choice", "problem"),
    [
        ("", "Choose where to export the task."),
        ("{not json", "Choose where to export the task."),
        (json.dumps({"connection_id": "trello_globex", "target": {"list_id": "l1"}}), "no such"),
        (json.dumps({"connection_id": "trello_acme", "target": {"list_id": "l1"}}), "broken"),
    ],
    ids=["none", "garbled", "another-tenants", "broken"],
)
async def test_an_export_the_api_would_refuse_is_refused_with_its_reason(
    client: httpx.AsyncClient,
    world: dict[str, str],
    destination: str,
    fake_task_core: FakeTaskCore,
    choice: str,
    problem: str,
) -> None:
    task_id = world["acme_task"]
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports",
        data={"csrf": csrf_of(form.text), "destination": choice},
    )
    assert answer.status_code == 303
    assert "?problem=" in answer.headers["location"]
    assert problem in (await client.get(answer.headers["location"])).text
    assert fake_task_core.links.get(task_id, []) == []


async def test_an_export_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, world: dict[str, str], destination: str, fake_task_core: FakeTaskCore
) -> None:
    task_id = world["acme_task"]
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports", data={"csrf": "0" * 64, "destination": destination}
    )
    assert answer.status_code == 403
    assert fake_task_core.links.get(task_id, []) == []
