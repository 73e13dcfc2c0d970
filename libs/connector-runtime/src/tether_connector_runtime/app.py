"""The connector app factory: one place builds a connector's state from its adapter.

A connector service is ``create_connector_app(settings, adapter_for)``: the store (migrated),
the outbox and its relay, the pipeline, the bus subscriptions (task changes, export requests),
the retrier, reconciliation, the webhook intake and the internal API. The provider's adapter
is made from the service's HTTP client, so tests hand in a transport that reaches an emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_common.bus import build_bus
from tether_common.db import create_engine, ping, session_factory
from tether_common.health import ReadinessCheck
from tether_common.logging import configure_logging
from tether_common.service import build_service_app
from tether_connector_runtime import dlq_size, gauges
from tether_connector_runtime.api import connections, consent, deletions, operations, places
from tether_connector_runtime.connections import Connections
from tether_connector_runtime.deletions import DeletionBrake
from tether_connector_runtime.intake import intake_router
from tether_connector_runtime.links_cache import LinksOfTask
from tether_connector_runtime.outbox import ConnectorOutbox, ConnectorRelay
from tether_connector_runtime.pipeline import Pipeline, RetrySchedule, health, propagation
from tether_connector_runtime.pipeline.bursts import Bursts
from tether_connector_runtime.pipeline.reconcile import reconcile_forever
from tether_connector_runtime.pipeline.retries import retry_forever
from tether_connector_runtime.placements_cache import Placements
from tether_connector_runtime.port import ProviderAdapter
from tether_connector_runtime.provider_calls import counting_hook
from tether_connector_runtime.secrets import TokenCipher
from tether_connector_runtime.settings import ConnectorSettings, deletion_guard_config
from tether_connector_runtime.state import ConnectorState, connector_state
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.store.tables import connector_tables
from tether_connector_runtime.subscriptions import subscribe
from tether_events.bus import EventBus
from tether_events.kafka import ensure_topics
from tether_events.topics import Topic, topic_name

AdapterFor = Callable[[httpx.AsyncClient], ProviderAdapter]


def create_connector_app(
    provider: str,
    settings: ConnectorSettings,
    adapter_for: AdapterFor,
    *,
    bus: EventBus | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``bus``: a shared bus (embedded mode); its owner starts and stops it.
    ``transport``: how to reach the provider (tests hand in an emulator in memory)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        if bus is None:
            configure_logging(f"{provider}-connector", settings.log_level, settings.log_json)
        if settings.migrate_on_start:
            await migrate_connector(settings.database_url, provider)
        async with AsyncExitStack() as stack:
            engine = create_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=30.0,
                    transport=transport,
                    event_hooks={"response": [counting_hook(provider)]},
                )
            )
            active_bus = bus or build_bus(settings, client_id=f"{provider}-connector")
            state = _build_state(provider, settings, engine, active_bus, http, adapter_for)
            # Kept on app.state rather than yielded: a host that enters this lifespan itself
            # (embedded mode) never sees yielded state.
            app.state.connector = state
            await subscribe(stack, state, provider)
            if bus is None:
                if settings.bus == "kafka":
                    await ensure_topics(
                        settings.kafka_bootstrap_servers,
                        [topic_name(t, settings.topic_namespace) for t in Topic],
                        partitions=settings.topic_partitions,
                    )
                await active_bus.start()
                stack.push_async_callback(active_bus.stop)
            p = state.pipeline
            relay = ConnectorRelay(provider, engine, p.sessions, active_bus, p.outbox)
            for name, job in (
                ("relay", relay.run()),
                ("retries", retry_forever(p, settings.retry_poll_interval)),
                ("reconcile", reconcile_forever(p, settings.reconcile_interval)),
                ("gauges", gauges.refresh_forever(p, settings.gauge_interval)),
            ):
                stack.push_async_callback(_background(f"{provider}-{name}", job))
            if bus is None and settings.bus == "kafka":
                dlq = topic_name(Topic.DEAD_LETTER, settings.topic_namespace)
                job = dlq_size.refresh_forever(
                    settings.kafka_bootstrap_servers, dlq, settings.gauge_interval
                )
                stack.push_async_callback(_background(f"{provider}-dlq-size", job))
            yield {}

    def readiness(request: Request) -> Mapping[str, ReadinessCheck]:
        state = connector_state(request)
        return {"database": lambda: ping(state.engine)}

    return build_service_app(
        service=f"{provider}-connector",
        title=f"Tether {provider.capitalize()} connector",
        lifespan=lifespan,
        routers=[
            connections.router,
            connections.owners,
            places.router,
            deletions.router,
            consent.router,
            operations.router,
            intake_router(provider),
        ],
        readiness=readiness,
    )


def _build_state(
    provider: str,
    settings: ConnectorSettings,
    engine: Any,
    bus: EventBus,
    http: httpx.AsyncClient,
    adapter_for: AdapterFor,
) -> ConnectorState:
    adapter = adapter_for(http)
    pipeline = build_pipeline(provider, settings, engine, adapter)
    return ConnectorState(settings, engine, bus, http, adapter, pipeline.connections, pipeline)


def build_pipeline(
    provider: str, settings: ConnectorSettings, engine: AsyncEngine, adapter: ProviderAdapter
) -> Pipeline:
    """The pipeline a connector runs over ``engine`` and ``adapter``, as its app builds it
    (the service, and the operator's commands that act as the service would, e.g. ``tether
    resync``). Raises :class:`~tether_connector_runtime.secrets.EncryptionKeyError` when the
    token key setting is unusable."""
    repo = ConnectorRepository(connector_tables(provider))
    sessions = session_factory(engine)
    conns = Connections(
        adapter,
        repo,
        sessions,
        TokenCipher.from_settings(settings),
        renewal_margin=timedelta(seconds=settings.credential_renewal_margin),
    )
    pipeline = Pipeline(
        provider=provider,
        sessions=sessions,
        repo=repo,
        adapter=adapter,
        connections=conns,
        outbox=ConnectorOutbox(repo.t.outbox),
        brake=DeletionBrake(repo.t, sessions, provider, deletion_guard_config(settings)),
        namespace=settings.topic_namespace,
        retry=RetrySchedule(
            base=settings.retry_base_delay, cap=settings.retry_max_delay, limit=settings.retry_limit
        ),
        webhook_renewal_margin=timedelta(seconds=settings.webhook_renewal_margin),
        bursts=Bursts(settings.burst_window, partial(propagation.written, provider)),
        budget_wait=settings.budget_wait,
        links_of_task=LinksOfTask(settings.links_cache_size),
        placements=Placements(settings.placements_cache_size),
    )
    conns.repaired = partial(health.connection_repaired, pipeline)
    conns.refused = partial(health.connection_refused, pipeline)
    return pipeline


def _background(name: str, job: Coroutine[Any, Any, None]) -> Callable[[], Any]:
    """Start ``job`` now; the returned callback cancels it and waits for it to end."""
    task = asyncio.create_task(job, name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
