"""Fixtures for the integration and end-to-end tiers: a real Kafka broker and PostgreSQL server.

They are started once by the project's own scripts (tether_devinfra) and shared by every test
and every xdist worker; isolation comes from a fresh database and a fresh topic namespace per
test, not from fresh servers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from sqlalchemy.engine import make_url

from tether_devinfra.infra import Infra, ensure_running


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
