"""The connector app over a fake provider, running (its lifespan entered, an in-process bus),
with an HTTP client that reaches it in memory: for tests of its routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tether_connector_runtime.app import create_connector_app
from tether_connector_runtime.pipeline import Pipeline
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.testing.fake_provider import FakeProvider
from tether_connector_runtime.testing.rig import TEST_TOKEN_KEY
from tether_events.inprocess import InProcessBus


@dataclass
class RunningApp:
    api: httpx.AsyncClient  # base URL http://tether.test
    fake: FakeProvider
    pipeline: Pipeline
    database: Path  # the SQLite file


@asynccontextmanager
async def running_app(fake: FakeProvider, database: Path) -> AsyncIterator[RunningApp]:
    """The connector of ``fake.provider`` over ``fake``, on the SQLite file ``database``;
    no background work falls due within a test (reconciliation and retries an hour apart)."""
    settings = ConnectorSettings(
        bus="inprocess",
        database_url=f"sqlite+aiosqlite:///{database}",
        token_encryption_key=TEST_TOKEN_KEY,
        public_url="http://tether.test",
        reconcile_interval=3600,
        retry_poll_interval=3600,
    )
    bus = InProcessBus()
    connector = create_connector_app(fake.provider, settings, lambda http: fake, bus=bus)
    async with connector.router.lifespan_context(connector):
        await bus.start()
        transport = httpx.ASGITransport(app=connector)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://tether.test") as api:
                yield RunningApp(api, fake, connector.state.connector.pipeline, database)
        finally:
            await bus.stop()
