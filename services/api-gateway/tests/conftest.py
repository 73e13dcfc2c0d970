"""Fixtures of the gateway's unit tests: a SQLite database per test, a fake task-core and fake
connectors.

The fakes speak the internal contracts of task-core and the connectors (other teams' services)
through ``httpx.MockTransport``; tests reach them only through the gateway, as clients would.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from api_gateway.app import create_app
from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import issue_token as issue
from api_gateway.auth.service import revoke_token as revoke_by_prefix
from api_gateway.auth.tokens import token_prefix
from api_gateway.config import GatewaySettings
from api_gateway.migrate import migrate
from tether_common.db import create_engine, session_factory, transaction
from tether_common.errors import error_body, invalid_input_body
from tether_contracts.connections import ConnectionOut, ConnectionStatus
from tether_contracts.sync import (
    ConflictOut,
    ConflictPage,
    HistoryEntry,
    HistoryPage,
    LinkCreate,
    LinkList,
    LinkOut,
    Provider,
    TaskFieldsSnapshot,
)
from tether_contracts.tasks import TaskCreate, TaskOut, TaskPage, TaskPatch

T = TypeVar("T")

TASKS = re.compile(r"^/internal/v1/tenants/(?P<tenant>[^/]+)/tasks(?:/(?P<task>[^/]+))?$")
TASK_PARTS = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/tasks/(?P<task>[^/]+)/(?P<part>history|links|review)$"
)
CONFLICTS = re.compile(r"^/internal/v1/tenants/(?P<tenant>[^/]+)/conflicts$")
NOT_FOUND = {"error": {"code": "task_not_found", "message": "no such task"}}
OWNER_ZONE = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/owners/(?P<user>[^/]+)/time-zone$"
)
CONNECTIONS = re.compile(
    r"^/internal/v1/tenants/(?P<tenant>[^/]+)/connections(?:/(?P<connection>[^/]+))?$"
)
PROVIDERS: tuple[Provider, ...] = ("trello", "asana", "jira")


class FakeTaskCore:
    """An in-memory task-core: tasks per tenant, FastAPI-style 422s, its 404 error body."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, TaskOut]] = {}
        self.requests: list[httpx.Request] = []
        self.links: dict[str, list[LinkOut]] = {}  # task id -> its links
        self.conflicts: dict[str, list[ConflictOut]] = {}  # tenant -> newest first

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        if (match := TASK_PARTS.match(request.url.path)) is not None:
            return self._task_part(match["tenant"], match["task"], match["part"], request)
        if (match := CONFLICTS.match(request.url.path)) is not None:
            return self._conflicts(match["tenant"], request)
        match = TASKS.match(request.url.path)
        if match is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        tasks = self.tasks.setdefault(match["tenant"], {})
        task_id = match["task"]
        try:
            if task_id is None:
                if request.method == "POST":
                    return self._create(match["tenant"], tasks, request)
                return self._list(tasks, request)
            if task_id not in tasks:
                return httpx.Response(404, json=NOT_FOUND)
            if request.method == "PATCH":
                return self._patch(tasks, task_id, request)
            if request.method == "DELETE":
                del tasks[task_id]
                return httpx.Response(204)
            return httpx.Response(200, content=tasks[task_id].model_dump_json())
        except ValidationError as exc:
            errors = [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors(include_url=False)]
            return httpx.Response(422, content=json.dumps(invalid_input_body(errors), default=str))

    def _create(
        self, tenant: str, tasks: dict[str, TaskOut], request: httpx.Request
    ) -> httpx.Response:
        body = TaskCreate.model_validate_json(request.content)
        now = datetime.now(UTC)
        task = TaskOut(
            id=uuid.uuid4().hex,
            tenant_id=tenant,
            **body.model_dump(),
            deleted=False,
            version=1,
            clock={"core": 1},
            created_at=now,
            updated_at=now,
        )
        tasks[task.id] = task
        return httpx.Response(201, content=task.model_dump_json())

    def _list(self, tasks: dict[str, TaskOut], request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "50"))
        cursor = request.url.params.get("cursor", "0")
        if not cursor.isdigit():
            invalid = {"type": "value_error", "loc": ["query", "cursor"], "msg": "bad cursor"}
            return httpx.Response(422, json=invalid_input_body([invalid]))
        start = int(cursor)
        wanted = request.url.params.get("needs_review")
        if wanted is not None:
            tasks = {k: t for k, t in tasks.items() if (t.review is not None) == (wanted == "true")}
        items = list(tasks.values())[start : start + limit]
        more = start + limit < len(tasks)
        page = TaskPage(items=items, next_cursor=str(start + limit) if more else None)
        return httpx.Response(200, content=page.model_dump_json())

    def _task_part(
        self, tenant: str, task_id: str, part: str, request: httpx.Request
    ) -> httpx.Response:
        task = self.tasks.get(tenant, {}).get(task_id)
        if task is None:
            return httpx.Response(404, json=NOT_FOUND)
        if part == "review" and request.method == "DELETE":
            cleared = task.model_copy(update={"review": None})
            self.tasks[tenant][task_id] = cleared
            return httpx.Response(200, content=cleared.model_dump_json())
        if part == "history":
            # One entry per version, newest first; the cursor is the version to start below.
            start = int(request.url.params.get("cursor", str(task.version + 1)))
            limit = int(request.url.params.get("limit", "50"))
            versions = list(range(start - 1, 0, -1))[:limit]
            entries = [self._entry(task, v) for v in versions]
            more = bool(versions) and versions[-1] > 1
            page = HistoryPage(items=entries, next_cursor=str(versions[-1]) if more else None)
            return httpx.Response(200, content=page.model_dump_json())
        links = self.links.setdefault(task_id, [])
        if request.method == "GET":
            return httpx.Response(200, content=LinkList(links).model_dump_json())
        body = LinkCreate.model_validate_json(request.content)
        existing = [
            link
            for link in links
            if link.connection_id == body.connection_id and link.status in ("pending", "active")
        ]
        if existing:
            error = error_body("already_exported", "exported already", {"link_id": existing[0].id})
            return httpx.Response(409, json=error)
        now = datetime.now(UTC)
        link = LinkOut(
            id=uuid.uuid4().hex,
            tenant_id=tenant,
            task_id=task_id,
            **body.model_dump(),
            status="pending",
            replica=None,
            external_id=None,
            url=None,
            error=None,
            created_at=now,
            updated_at=now,
        )
        links.append(link)
        return httpx.Response(202, content=link.model_dump_json())

    @staticmethod
    def _entry(task: TaskOut, version: int) -> HistoryEntry:
        return HistoryEntry(
            version=version,
            origin="core",
            changed_fields=["title"],
            clock={"core": version},
            fields=TaskFieldsSnapshot(
                title=task.title,
                description=task.description,
                due_date=task.due_date,
                completed=task.completed,
                deleted=task.deleted,
            ),
            recorded_at=task.updated_at,
        )

    def _conflicts(self, tenant: str, request: httpx.Request) -> httpx.Response:
        items = self.conflicts.get(tenant, [])
        if "task_id" in request.url.params:
            items = [c for c in items if c.task_id == request.url.params["task_id"]]
        limit = int(request.url.params.get("limit", "50"))
        start = int(request.url.params.get("cursor", "0"))
        more = start + limit < len(items)
        page = ConflictPage(
            items=items[start : start + limit], next_cursor=str(start + limit) if more else None
        )
        return httpx.Response(200, content=page.model_dump_json())

    def _patch(
        self, tasks: dict[str, TaskOut], task_id: str, request: httpx.Request
    ) -> httpx.Response:
        patch = TaskPatch.model_validate_json(request.content)
        old = tasks[task_id]
        tasks[task_id] = old.model_copy(
            update={
                **patch.changes(),
                "version": old.version + 1,
                "clock": old.clock.increment("core"),
                "updated_at": datetime.now(UTC),
            }
        )
        return httpx.Response(200, content=tasks[task_id].model_dump_json())


class FakeConnectors:
    """Every provider's connector as far as connections go: each tenant's connections, what
    each connector was asked, and connectors made unreachable."""

    def __init__(self) -> None:
        self.connections: dict[str, dict[str, ConnectionOut]] = {}  # tenant -> id -> it
        self.requests: list[tuple[Provider, httpx.Request]] = []
        self.unreachable: set[Provider] = set()
        # (provider, tenant, user) -> the zone each connector was last told
        self.owner_zones: dict[tuple[Provider, str, str], str] = {}

    def add(
        self,
        tenant_id: str,
        connection_id: str,
        *,
        status: ConnectionStatus = "active",
        error: str | None = None,
    ) -> ConnectionOut:
        provider = next(p for p in PROVIDERS if connection_id.startswith(f"{p}_"))
        connection = ConnectionOut(
            id=connection_id,
            provider=provider,
            account_id="m1",
            account_name="ada",
            status=status,
            error=error,
            created_at=datetime(2026, 11, 28, 10, tzinfo=UTC),
        )
        self.connections.setdefault(tenant_id, {})[connection_id] = connection
        return connection

    def transport(self, provider: Provider) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self._handle(provider, request))

    def _handle(self, provider: Provider, request: httpx.Request) -> httpx.Response:
        self.requests.append((provider, request))
        if provider in self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        owner = OWNER_ZONE.match(request.url.path)
        if owner is not None and request.method == "PUT":
            zone = json.loads(request.content)["time_zone"]
            self.owner_zones[(provider, owner["tenant"], owner["user"])] = zone
            return httpx.Response(200, json={"connections": 1})
        match = CONNECTIONS.match(request.url.path)
        if match is None or request.method != "GET":
            return httpx.Response(404, json={"detail": "Not Found"})
        mine = {
            c.id: c
            for c in self.connections.get(match["tenant"], {}).values()
            if c.provider == provider
        }
        if match["connection"] is None:
            listed = [c.model_dump(mode="json") for c in mine.values()]
            return httpx.Response(200, json=listed)
        if match["connection"] not in mine:
            error = {"code": "connection_not_found", "message": f"no {provider} connection"}
            return httpx.Response(404, json={"error": error})
        return httpx.Response(200, content=mine[match["connection"]].model_dump_json())


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        task_core_url="http://task-core.test",
        task_core_timeout=2.0,
    )


@pytest.fixture
def fake_task_core() -> FakeTaskCore:
    return FakeTaskCore()


@pytest.fixture
def task_core_requests(fake_task_core: FakeTaskCore) -> list[httpx.Request]:
    """Every request that reached task-core, in order."""
    return fake_task_core.requests


@pytest.fixture
def fake_connectors() -> FakeConnectors:
    return FakeConnectors()


@pytest.fixture
def start_gateway(
    settings: GatewaySettings, fake_connectors: FakeConnectors
) -> Callable[[httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Runs the gateway (lifespan included) with task-core behind the given transport and the
    fake connectors behind every connector the settings configure (as they are at start)."""

    @asynccontextmanager
    async def start(transport: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
        connectors = {p: fake_connectors.transport(p) for p in settings.connector_urls()}
        app = create_app(settings, task_core_transport=transport, connector_transports=connectors)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
            ) as client,
        ):
            yield client

    return start


@pytest.fixture
async def client(
    start_gateway: Callable[
        [httpx.AsyncBaseTransport], AbstractAsyncContextManager[httpx.AsyncClient]
    ],
    fake_task_core: FakeTaskCore,
) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway(httpx.MockTransport(fake_task_core.handle)) as client:
        yield client


async def _in_database(
    settings: GatewaySettings, work: Callable[[AuthRepository], Awaitable[T]]
) -> T:
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            return await work(AuthRepository(session))
    finally:
        await engine.dispose()


@pytest.fixture
def issue_token(settings: GatewaySettings) -> Callable[[str, str], Awaitable[str]]:
    """Creates (tenant, user) as needed and returns a fresh raw token."""

    async def make(tenant: str, email: str) -> str:
        async def work(repo: AuthRepository) -> str:
            issued = await issue(repo, tenant_name=tenant, email=email, now=utcnow())
            return issued.token

        return await _in_database(settings, work)

    return make


@pytest.fixture
def revoke_token(settings: GatewaySettings) -> Callable[[str], Awaitable[None]]:
    """Revokes a raw token (by its prefix, as people do)."""

    async def revoke(token: str) -> None:
        async def work(repo: AuthRepository) -> None:
            await revoke_by_prefix(repo, prefix=token_prefix(token), now=utcnow())

        await _in_database(settings, work)

    return revoke
