"""Migrations build exactly the models' schema; settings and OpenAPI say what they promise."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import Connection, inspect

from api_gateway import GatewaySettings, create_app
from api_gateway.auth.models import Base
from api_gateway.migrate import VERSION_TABLE, gateway_alembic_config, migrate
from tether_common.db import create_engine


async def schema_drift(url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_and_run_both_ways(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await migrate(url)
    await migrate(url)  # a second start finds nothing to do
    assert await schema_drift(url) == []

    await asyncio.to_thread(command.downgrade, gateway_alembic_config(url), "base")
    assert await table_names(url) == {VERSION_TABLE}

    await migrate(url)
    assert await schema_drift(url) == []


def test_settings_come_from_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TETHER_GATEWAY_DATABASE_URL", "postgresql://tether@db:5432/tether")
    monkeypatch.setenv("TETHER_GATEWAY_TASK_CORE_URL", "http://task-core:8001")
    monkeypatch.setenv("TETHER_GATEWAY_TASK_CORE_TIMEOUT", "2.5")
    monkeypatch.setenv("TETHER_GATEWAY_MIGRATE_ON_START", "false")
    monkeypatch.setenv("TETHER_GATEWAY_PORT", "9000")

    settings = GatewaySettings()

    # The URL people copy from psql tools gets the async driver the engine needs.
    assert settings.database_url == "postgresql+asyncpg://tether@db:5432/tether"
    assert str(settings.task_core_url) == "http://task-core:8001/"
    assert settings.task_core_timeout == 2.5
    assert settings.migrate_on_start is False
    assert settings.port == 9000


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TETHER_GATEWAY_")]:
        monkeypatch.delenv(name)
    settings = GatewaySettings()
    assert settings.database_url == "sqlite+aiosqlite:///.tether/gateway.db"
    assert str(settings.task_core_url) == "http://127.0.0.1:8001/"
    assert settings.migrate_on_start is True
    assert settings.port == 8000


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url", "postgresql+psycopg2://x@y/z"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="database_url"):
        GatewaySettings(database_url=url)


def test_openapi_documents_auth_errors_and_models() -> None:
    schema = create_app(GatewaySettings()).openapi()

    assert schema["components"]["securitySchemes"]["ApiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["ApiToken"]["description"],
    }
    operations = {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        if path.startswith("/v1")
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("POST", "/v1/tasks"),
        ("GET", "/v1/tasks"),
        ("GET", "/v1/tasks/{task_id}"),
        ("PATCH", "/v1/tasks/{task_id}"),
        ("DELETE", "/v1/tasks/{task_id}"),
        ("DELETE", "/v1/tasks/{task_id}/review"),
        ("GET", "/v1/tasks/{task_id}/history"),
        ("POST", "/v1/tasks/{task_id}/exports"),
        ("GET", "/v1/tasks/{task_id}/links"),
        ("GET", "/v1/conflicts"),
        ("GET", "/v1/me"),
        ("PATCH", "/v1/me"),
        ("POST", "/v1/connections"),
        ("GET", "/v1/connections"),
        ("GET", "/v1/connections/{connection_id}/targets"),
        ("GET", "/v1/connections/{connection_id}/deletions"),
        ("POST", "/v1/connections/{connection_id}/deletions/confirm"),
        ("GET", "/v1/connections/{connection_id}/status-mapping"),
        ("PUT", "/v1/connections/{connection_id}/status-mapping"),
        ("GET", "/v1/connections/{connection_id}/list-mapping"),
        ("PUT", "/v1/connections/{connection_id}/list-mapping"),
        ("DELETE", "/v1/connections/{connection_id}"),
        ("GET", "/v1/connections/{provider}/authorize"),
        ("GET", "/v1/connections/{provider}/callback"),
    }
    # A provider sends a person's browser back to the callback, which carries no API token:
    # the pending authorization it names is what authorizes it.
    anonymous = {("GET", "/v1/connections/{provider}/callback")}
    for key, operation in operations.items():
        assert operation["summary"], key
        if key in anonymous:
            assert "security" not in operation, key
            assert "401" not in operation["responses"], key
            continue
        assert operation["security"] == [{"ApiToken": []}], key
        assert "401" in operation["responses"], key
    callback = operations[("GET", "/v1/connections/{provider}/callback")]
    # Every query parameter is passed on; the usual ones are documented, none required.
    parameters = {p["name"]: p for p in callback["parameters"]}
    assert set(parameters) == {
        "provider",
        "oauth_token",
        "oauth_verifier",
        "code",
        "state",
        "error",
    }
    assert [n for n, p in parameters.items() if p.get("required")] == ["provider"]
    assert {"201", "400", "404"} <= set(callback["responses"])
    assert {"302", "200", "404"} <= set(
        operations[("GET", "/v1/connections/{provider}/authorize")]["responses"]
    )
    for key in [k for k in operations if k[1].startswith("/v1/connections")]:
        assert {"503", "502"} <= set(operations[key]["responses"]), key
    for key in [k for k in operations if k[1].startswith(("/v1/tasks", "/v1/conflicts"))]:
        assert {"503", "502"} <= set(operations[key]["responses"]), key
    for method in ("GET", "PATCH", "DELETE"):
        assert "404" in operations[(method, "/v1/tasks/{task_id}")]["responses"]
    for key in [k for k in operations if k[1].startswith("/v1/tasks/{task_id}/")]:
        assert "404" in operations[key]["responses"], key
    created = operations[("POST", "/v1/tasks")]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/TaskOut")
    listed = operations[("GET", "/v1/tasks")]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["$ref"].endswith("/TaskPage")


def test_openapi_documents_connections_with_the_shared_contracts() -> None:
    schema = create_app(GatewaySettings()).openapi()
    paths = schema["paths"]

    def returns(path: str, method: str, status: str) -> str:
        content = paths[path][method]["responses"][status]["content"]["application/json"]
        ref = content["schema"].get("$ref") or content["schema"]["items"]["$ref"]
        return str(ref).rsplit("/", 1)[-1]

    assert returns("/v1/connections", "post", "201") == "ConnectionOut"
    assert returns("/v1/connections", "get", "200") == "ConnectionOut"
    assert returns("/v1/connections/{connection_id}/targets", "get", "200") == "Targets"
    mapping = "/v1/connections/{connection_id}/status-mapping"
    assert returns(mapping, "put", "200") == "StatusMappingOut"
    assert returns("/v1/connections/{provider}/callback", "get", "201") == "ConnectionOut"
    assert returns("/v1/connections/{provider}/authorize", "get", "200") == ("AuthorizationStarted")
    components = schema["components"]["schemas"]
    assert set(components["Container"]["required"]) >= {"id", "name", "kind", "places"}
    assert components["ConnectionCreate"]["additionalProperties"]["type"] == "string"


def test_settings_may_leave_a_connector_out(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TETHER_GATEWAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TETHER_GATEWAY_JIRA_CONNECTOR_URL", "")
    monkeypatch.setenv("TETHER_GATEWAY_ASANA_CONNECTOR_URL", "http://asana:8003")
    settings = GatewaySettings()
    assert settings.jira_connector_url is None
    assert {p: str(u) for p, u in settings.connector_urls().items()} == {
        "trello": "http://127.0.0.1:8002/",
        "asana": "http://asana:8003/",
    }


def test_a_transport_no_connector_could_use_is_refused() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200))
    with pytest.raises(ValueError, match="github"):
        create_app(GatewaySettings(), connector_transports={"github": transport})
    with pytest.raises(ValueError, match="jira_connector_url"):
        create_app(
            GatewaySettings(jira_connector_url=None), connector_transports={"jira": transport}
        )


def test_openapi_documents_history_conflicts_exports_and_links() -> None:
    schema = create_app(GatewaySettings()).openapi()
    paths = schema["paths"]

    def returns(path: str, method: str, status: str) -> str:
        answer = paths[path][method]["responses"][status]
        return str(answer["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]

    assert returns("/v1/tasks/{task_id}/history", "get", "200") == "HistoryPage"
    assert returns("/v1/conflicts", "get", "200") == "ConflictPage"
    assert returns("/v1/tasks/{task_id}/exports", "post", "202") == "LinkOut"
    assert returns("/v1/tasks/{task_id}/exports", "post", "409") == "ErrorResponse"
    assert returns("/v1/tasks/{task_id}/links", "get", "200") == "LinkList"
    conflict_filters = {p["name"] for p in paths["/v1/conflicts"]["get"]["parameters"]}
    assert conflict_filters == {"task_id", "limit", "cursor"}
    export = schema["components"]["schemas"]["ExportCreate"]
    assert set(export["required"]) == {"connection_id", "target"}
    assert "trello_" in export["properties"]["connection_id"]["description"]
    export_errors = paths["/v1/tasks/{task_id}/exports"]["post"]["responses"]
    assert {"404", "409", "422", "502", "503"} <= set(export_errors)
    assert "connection_not_found" in export_errors["404"]["description"]
    assert "connection_broken" in export_errors["409"]["description"]
    link = schema["components"]["schemas"]["LinkOut"]["properties"]
    assert {"id", "provider", "status", "external_id", "url", "error", "created_at"} <= set(link)
