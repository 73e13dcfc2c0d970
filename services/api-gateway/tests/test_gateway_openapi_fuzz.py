"""Property-based: requests generated from the gateway's own OpenAPI document, valid ones and
invalid ones, sent in process to the gateway with the real task-core behind it (as the
embedded mode runs them: SQLite, in-process bus, no network). No answer may be a 5xx, and every
error has the one error shape.

Bounded (a fixed number of examples per operation, derandomized): it runs in ``make test`` on
every change, in seconds, and finds the same thing every time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.python.asgi import shutdown_lifespans
from starlette.routing import Router

from api_gateway.app import create_app
from api_gateway.config import GatewaySettings
from task_core.app import create_app as create_task_core
from task_core.config import TaskCoreSettings

IssueToken = Callable[[str, str], Awaitable[str]]
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Operation]
EXAMPLES = 15  # per operation and mode (valid, invalid): about 15 s for the whole document
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def hosted(gateway: FastAPI, task_core: FastAPI) -> Router:
    """One ASGI app, as the embedded mode hosts them: task-core's lifespan and the gateway's
    run together, and every request goes to the gateway (which calls task-core in process)."""

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in (task_core, gateway):
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    # No routes of its own: nothing is matched (or refused) here, all is the gateway's.
    return Router(default=gateway, lifespan=lifespan, redirect_slashes=False)


@pytest.fixture
async def token(issue_token: IssueToken) -> str:
    return await issue_token("acme", "ann@acme.test")


@pytest.fixture
def gateway_schema(settings: GatewaySettings, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    core_db = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    task_core = create_task_core(TaskCoreSettings(database_url=core_db, bus="inprocess"))
    # No connector behind it: connection routes answer that none serves the provider (422).
    settings.trello_connector_url = settings.asana_connector_url = None
    settings.jira_connector_url = None
    transport = httpx.ASGITransport(app=task_core, raise_app_exceptions=False)
    gateway = create_app(settings, task_core_transport=transport)
    yield schemathesis.openapi.from_asgi("/openapi.json", hosted(gateway, task_core))
    # schemathesis started the apps' lifespans on its own event loop: they stop there.
    shutdown_lifespans()


def one_shape(body: object) -> bool:
    return (
        isinstance(body, dict)
        and list(body) == ["error"]
        and isinstance(body["error"], dict)
        and {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    )


def takes_input(operation: Operation) -> bool:
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


def explore(cases: SearchStrategy[Case], probe: Callable[[Any], None]) -> None:
    """Runs ``probe`` on a bounded number of ``cases`` (one hypothesis run)."""

    @BOUNDED
    @given(case=cases)
    def run(case: Case) -> None:
        probe(case)

    run()


def test_no_request_is_answered_with_a_5xx(
    gateway_schema: schemathesis.BaseSchema, token: str
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    results = list(gateway_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 20  # the whole document, every operation of it
    answered: list[int] = []

    def probe(case: Case) -> None:
        # Our token in place of any the generator made up, so requests get past auth (but for
        # the invalid ones whose header the generator leaves out on purpose: a 401 then).
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = case.call(headers={**headers, **auth})
        answered.append(response.status_code)
        assert response.status_code < 500, (case.as_curl_command(), response.text)
        if response.status_code >= 400 and response.content:
            assert one_shape(json.loads(response.content)), (case.as_curl_command(), response.text)

    for operation in operations:
        explore(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), probe)
        if takes_input(operation):  # without any, there is nothing to get wrong
            explore(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), probe)
    # Both kinds of answer were reached: requests the API took, and requests it refused.
    assert any(status < 300 for status in answered)
    assert any(400 <= status < 500 for status in answered)
