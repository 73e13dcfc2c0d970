"""Embedded mode: all five services in one process behind one HTTP server.

Same code as distributed mode, different adapters: SQLite files instead of PostgreSQL, the
in-process bus instead of Kafka, and the gateway reaching task-core through an in-memory ASGI
transport instead of the network.

Logs and traces are the process's: ``TETHER_LOG_*`` and ``TETHER_TRACING`` set them for every
service at once (one tracer provider per process; its spans are ``service.name`` ``tether``,
and each service's are told apart by what they name: the request's path, the consumer group).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp

from api_gateway.app import create_app as create_gateway
from api_gateway.config import GatewaySettings
from asana_connector.app import create_app as create_asana
from asana_connector.config import AsanaSettings
from jira_connector.app import create_app as create_jira
from jira_connector.config import JiraSettings
from task_core.app import create_app as create_task_core
from task_core.config import TaskCoreSettings
from tether_cli.dispatch import PathDispatcher
from tether_cli.serving import QuietServer, Servers, StopSignal, bind
from tether_common.logging import configure_logging
from tether_common.tracing import TracingMode, setup_tracing
from tether_events.inprocess import InProcessBus
from tether_events.sqlitelog import SqliteLogStore
from trello_connector.app import create_app as create_trello
from trello_connector.config import TrelloSettings

# The one process's name in its logs and its spans' ``service.name``.
EMBEDDED_SERVICE = "tether"


class EmbeddedSettings(BaseSettings):
    """Settings of the embedded host (env prefix ``TETHER_``); each service still reads its own
    prefixed settings (e.g. ``TETHER_TASK_CORE_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="TETHER_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Interface the one HTTP server binds")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the one HTTP server")
    log_level: str = Field(default="INFO", description="Least severe log level written")
    log_json: bool = Field(default=False, description="JSON log lines (for log shippers)")
    tracing: TracingMode = Field(
        default="off",
        description="OpenTelemetry traces of every service in the process (service.name "
        "tether): off, console (one JSON line per span on stderr) or otlp (OTLP/HTTP to "
        "OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318)",
    )
    bus_path: Path = Field(
        default=Path(".tether/bus.db"),
        description="SQLite file of the in-process event bus: every topic's log and each "
        "consumer group's committed offset, so events survive a crash (directory created)",
    )


@dataclass
class EmbeddedSystem:
    app: ASGIApp
    bus: InProcessBus[SqliteLogStore]


@asynccontextmanager
async def embedded_system(
    *,
    settings: EmbeddedSettings | None = None,
    trello_settings: TrelloSettings | None = None,
    asana_settings: AsanaSettings | None = None,
    jira_settings: JiraSettings | None = None,
) -> AsyncIterator[EmbeddedSystem]:
    """Build and start every service; stop them in reverse order on exit. The bus's log is
    the SQLite file ``settings.bus_path``: events accepted before a crash are delivered after
    the restart, each consumer group resuming from its last committed offset. A connector's
    settings, when given, replace the ones it would read from the environment (the sandbox
    points them at its emulators)."""
    settings = settings or EmbeddedSettings()
    store = SqliteLogStore(settings.bus_path)
    bus = InProcessBus(store)
    task_core = create_task_core(TaskCoreSettings(bus="inprocess"), bus=bus)
    by_provider: dict[str, FastAPI] = {
        "trello": create_trello(trello_settings or TrelloSettings(bus="inprocess"), bus=bus),
        "asana": create_asana(asana_settings or AsanaSettings(bus="inprocess"), bus=bus),
        "jira": create_jira(jira_settings or JiraSettings(bus="inprocess"), bus=bus),
    }
    connectors = {f"/webhooks/{name}": app for name, app in by_provider.items()}
    gateway = create_gateway(
        # The http://<name> URLs are never resolved: the transports hand requests to the apps
        # in memory.
        GatewaySettings(
            task_core_url="http://task-core",
            trello_connector_url="http://trello",
            asana_connector_url="http://asana",
            jira_connector_url="http://jira",
        ),
        # A crash inside a service must reach the gateway as a failed response (503), as it
        # would over the network, not as an exception raised through the gateway.
        task_core_transport=httpx.ASGITransport(app=task_core, raise_app_exceptions=False),
        connector_transports={
            name: httpx.ASGITransport(app=app, raise_app_exceptions=False)
            for name, app in by_provider.items()
        },
    )
    async with AsyncExitStack() as stack:
        # Closed last, after every service and the bus that write to it stopped.
        stack.push_async_callback(store.close)
        # Lifespans run in dependency order: task-core before the gateway that calls it.
        for app in (task_core, *connectors.values(), gateway):
            await stack.enter_async_context(app.router.lifespan_context(app))
        # Every service registered its subscriptions during start-up; now deliver events.
        await bus.start()
        stack.push_async_callback(bus.stop)
        yield EmbeddedSystem(PathDispatcher(list(connectors.items()), gateway), bus)


def banner(settings: EmbeddedSettings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    return f"""
Tether is running (embedded mode) at {base}
  API docs:     {base}/docs
  Get a token:  .venv/bin/tether token create --tenant acme --email you@example.com
  First task:   curl -s -X POST {base}/v1/tasks -H "Authorization: Bearer $TOKEN" \\
                  -H 'Content-Type: application/json' -d '{{"title": "Plan the week"}}'
  Stop with Ctrl-C. Data lives in ./.tether/ (SQLite).
"""


def configure_observability(settings: EmbeddedSettings) -> None:
    """The process's logs and, when ``settings.tracing`` asks, its tracer provider: set once,
    before any service starts (each service's own ``LOG_*`` and ``TRACING`` settings are
    those of its own process, which embedded mode does not have)."""
    configure_logging(EMBEDDED_SERVICE, settings.log_level, settings.log_json)
    setup_tracing(EMBEDDED_SERVICE, settings.tracing)


async def serve_embedded(settings: EmbeddedSettings | None = None) -> None:
    """Serve until Ctrl-C (or SIGTERM), then stop the server and every service in order."""
    settings = settings or EmbeddedSettings()
    configure_observability(settings)
    sock = bind(settings.host, settings.port, what="Tether", setting="TETHER_PORT")
    with StopSignal() as stop:
        async with embedded_system(settings=settings) as system:
            server = QuietServer(
                uvicorn.Config(system.app, lifespan="off", log_config=None, access_log=False)
            )
            async with Servers(stop, [(server, sock)]) as servers:
                if await servers.started():
                    print(banner(settings), file=sys.stderr, flush=True)
                    await servers.until_stopped()
