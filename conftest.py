"""Fixtures for the integration and end-to-end tiers: a real Kafka broker and PostgreSQL server.

They are started once by the project's own scripts (tether_devinfra) and shared by every test
and every xdist worker; isolation comes from a fresh database and a fresh topic namespace per
test, not from fresh servers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from filelock import FileLock
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from sqlalchemy.engine import make_url

from tether_devinfra.infra import Infra, ensure_running
from tether_devinfra.paths import state_dir


@pytest.fixture(scope="session")
def infra() -> Infra:
    return ensure_running()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(infra: Infra) -> str:
    return infra.kafka_bootstrap_servers


@pytest.fixture
def topic_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def database_url(infra: Infra) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    server = make_url(infra.database_url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        database=server.database,
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield server.set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        database=server.database,
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for one test: the process's tracer provider keeps every finished span in
    memory. Afterwards the process is untraced again, as every other test expects."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        # The API lets a process install its provider once; tests need it undone (as
        # OpenTelemetry's own test utilities do).
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


@pytest.fixture(scope="session")
def replica_server_url(infra: Infra) -> str:
    """A streaming replica of the PostgreSQL server, started only for the tests that ask."""
    url = ensure_running(replica=True).read_database_url
    assert url is not None
    return url


@pytest.fixture
async def replica_database_url(database_url: str, replica_server_url: str) -> AsyncIterator[str]:
    """The test's database as the replica serves it, once the replica has it.

    Pausing replay (``pg_wal_replay_pause()``) holds up the whole replica: tests that use it
    take turns (a lock across xdist workers), and replay is resumed after each.
    """
    replica = make_url(replica_server_url).set(database=make_url(database_url).database)
    with FileLock(str(state_dir() / "replica-tests.lock"), timeout=600):
        deadline = time.monotonic() + 60
        while True:  # CREATE DATABASE reaches the replica as the WAL streams in
            try:
                connection = await asyncpg.connect(
                    host=replica.host,
                    port=replica.port,
                    user=replica.username,
                    database=replica.database,
                )
                await connection.close()
                break
            except asyncpg.InvalidCatalogNameError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        try:
            yield replica.render_as_string(hide_password=False)
        finally:
            connection = await asyncpg.connect(
                host=replica.host, port=replica.port, user=replica.username, database="postgres"
            )
            try:
                await connection.execute("SELECT pg_wal_replay_resume()")
            finally:
                await connection.close()
