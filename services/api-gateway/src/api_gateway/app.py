"""The gateway's FastAPI application and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version

import httpx
import structlog
from fastapi import Depends, FastAPI, Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api_gateway.auth.endpoints import router as auth_router
from api_gateway.config import GatewaySettings
from api_gateway.connections.client import ConnectorClient
from api_gateway.connections.deletions import router as deletions_router
from api_gateway.connections.endpoints import router as connections_router
from api_gateway.connections.mapping import router as mapping_router
from api_gateway.connections.oauth import router as oauth_router
from api_gateway.connections.providers import PROVIDERS
from api_gateway.dashboard import routes as dashboard
from api_gateway.migrate import migrate
from api_gateway.observability import bind_path_ids, request_log_middleware
from api_gateway.state import GatewayState, get_state
from api_gateway.tasks.client import TaskCoreClient
from api_gateway.tasks.consistency import read_after_middleware
from api_gateway.tasks.endpoints import router as tasks_router
from api_gateway.tasks.history import conflicts_router, history_router
from api_gateway.tasks.links import router as links_router
from tether_common.db import create_engine, ping, session_factory
from tether_common.errors import install_error_handler
from tether_common.health import ReadinessCheck, health_router
from tether_common.metrics import http_metrics_middleware, metrics_router
from tether_common.read_replica import LsnPins, ReadRouting
from tether_common.service import offline_docs_app
from tether_common.tracing import flush_spans, propagate_trace
from tether_contracts.sync import Provider

SERVICE = "api-gateway"
log = structlog.get_logger(__name__)

DESCRIPTION = """\
Tether keeps your tasks in sync with Trello, Asana and Jira.

Every request needs an API token: `Authorization: Bearer tth_...`. Create one with
`tether token create --tenant <name> --email <you@example.com>`, then press **Authorize**.
Export a task with `POST /v1/tasks/{id}/exports`; from then on edits on either side reach
the other, and edits made concurrently on two sides are merged field by field. When both
changed the same field, the configured policy picks the winner at once and the conflict is
recorded for review at `GET /v1/conflicts`; `GET /v1/tasks/{id}/history` shows every change
and where it came from.

Every error, whatever its status, has the body
`{"error": {"code": ..., "message": ..., "details": ...}}`: `code` is stable and
machine-readable, `message` is for people, `details` is there when there is more to say. A 422
(`invalid_input`) names each offending field in `details`
(`[{"field": "body.title", "loc": ["body", "title"], "message": ..., "type": ...}]`); other
errors put there the ids they concern (e.g. `{"link_id": ...}` for `already_exported`).
"""


def _readiness(request: Request) -> Mapping[str, ReadinessCheck]:
    state = get_state(request)

    async def database() -> None:
        await ping(state.engine)

    return {"database": database, "task_core": state.task_core.ping}


def create_app(
    settings: GatewaySettings | None = None,
    *,
    task_core_transport: httpx.AsyncBaseTransport | None = None,
    connector_transports: (
        Mapping[str, httpx.AsyncBaseTransport] | Mapping[Provider, httpx.AsyncBaseTransport] | None
    ) = None,
) -> FastAPI:
    """The gateway app. ``task_core_transport`` replaces the network route to task-core, e.g.
    ``httpx.ASGITransport(app=task_core_app)`` in embedded mode or a fake in tests;
    ``connector_transports`` does the same per provider (``trello``, ``asana``, ``jira``) for
    the connectors the settings configure; a configured connector given no transport is reached
    over the network at its URL. A transport no connector could use is a ``ValueError``."""
    settings = settings or GatewaySettings()
    transports = _connector_transports(settings, connector_transports or {})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await migrate(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            async with AsyncExitStack() as clients:
                reads = await clients.enter_async_context(_read_routing(settings, engine))
                http = await clients.enter_async_context(
                    httpx.AsyncClient(
                        base_url=str(settings.task_core_url),
                        timeout=settings.task_core_timeout,
                        transport=task_core_transport,
                        event_hooks={"request": [propagate_trace]},
                    )
                )
                connectors = {
                    provider: await clients.enter_async_context(
                        httpx.AsyncClient(
                            base_url=str(url),
                            timeout=settings.task_core_timeout,
                            transport=transports.get(provider),
                            event_hooks={"request": [propagate_trace]},
                        )
                    )
                    for provider, url in settings.connector_urls().items()
                }
                log.info(
                    "gateway_started",
                    # The backend only: the URL may carry a password.
                    database=make_url(settings.database_url).get_backend_name(),
                    read_replica=settings.read_database_url is not None,
                    task_core_url=str(settings.task_core_url),
                    connectors=sorted(connectors),
                )
                app.state.gateway = GatewayState(
                    settings=settings,
                    engine=engine,
                    sessions=session_factory(engine),
                    task_core=TaskCoreClient(
                        http, positions=LsnPins(settings.read_your_writes_seconds)
                    ),
                    connectors=ConnectorClient(connectors),
                    reads=reads,
                )
                try:
                    yield
                finally:
                    # Requests after shutdown must fail loudly, not use a closed engine.
                    del app.state.gateway
        finally:
            await engine.dispose()
            await flush_spans()

    app = offline_docs_app(
        title="Tether API",
        version=version("tether-api-gateway"),
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(bind_path_ids)],
    )
    install_error_handler(app)
    app.middleware("http")(http_metrics_middleware(SERVICE))
    app.middleware("http")(request_log_middleware)
    app.middleware("http")(read_after_middleware)
    app.include_router(tasks_router)
    app.include_router(history_router)
    app.include_router(links_router)
    app.include_router(conflicts_router)
    app.include_router(connections_router)
    app.include_router(oauth_router)
    app.include_router(deletions_router)
    app.include_router(mapping_router)
    app.include_router(auth_router)
    app.include_router(dashboard.router)
    app.mount("/dashboard/static", dashboard.static, name="dashboard-static")
    app.include_router(health_router(_readiness))
    app.include_router(metrics_router)
    return app


@asynccontextmanager
async def _read_routing(
    settings: GatewaySettings, primary: AsyncEngine
) -> AsyncIterator[ReadRouting]:
    """Token lookups from the read replica when one is configured, else from the primary."""
    pin = settings.read_your_writes_seconds
    if settings.read_database_url is None:
        yield ReadRouting(session_factory(primary), None, database=SERVICE, pin_seconds=pin)
        return
    # A replica that does not answer must not hold a request up long: it falls back instead.
    replica = create_engine(settings.read_database_url, connect_args={"timeout": 5})
    try:
        yield ReadRouting(
            session_factory(primary),
            session_factory(replica),
            database=SERVICE,
            pin_seconds=pin,
        )
    finally:
        await replica.dispose()


def _connector_transports(
    settings: GatewaySettings,
    transports: Mapping[str, httpx.AsyncBaseTransport]
    | Mapping[Provider, httpx.AsyncBaseTransport],
) -> dict[Provider, httpx.AsyncBaseTransport]:
    """The transports by provider, refused at once when one could never be used: a transport
    for a provider the settings give no connector would be silently ignored otherwise."""
    configured = settings.connector_urls()
    found: dict[Provider, httpx.AsyncBaseTransport] = {}
    for name, transport in transports.items():
        provider = next((p for p in PROVIDERS if p == name), None)
        if provider is None:
            raise ValueError(f"a connector transport for {name!r}, which is no provider")
        if provider not in configured:
            raise ValueError(
                f"a connector transport for {provider}, whose connector URL is unset: set "
                f"{provider}_connector_url (any URL; the transport carries the requests)"
            )
        found[provider] = transport
    return found
