"""The Trello connector service: its lifespan wires the store, the bus and the sync."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from tether_common.bus import build_bus
from tether_common.db import create_engine, ping, session_factory
from tether_common.errors import NotFound
from tether_common.health import ReadinessCheck
from tether_common.logging import configure_logging
from tether_common.service import build_service_app
from tether_connector_runtime.coalesce import newer_task_state, task_of
from tether_connector_runtime.deadletter import RetryPolicy, dead_letter_handler, raw_publisher
from tether_connector_runtime.deletions import DeletionBrake
from tether_connector_runtime.retry import PermanentProviderError
from tether_connector_runtime.secrets import TokenCipher
from tether_connector_runtime.settings import deletion_guard_config
from tether_connector_runtime.store.migrate import migrate_connector
from tether_connector_runtime.store.repository import ConnectorRepository
from tether_connector_runtime.store.tables import connector_tables
from tether_events import CloudEvent, ExportRequested, Topic, topic_name
from tether_events.bus import EventBus, Handler
from tether_events.kafka import ensure_topics
from trello_connector import connections, deletions, list_mapping_api, oauth, webhook
from trello_connector.client import TrelloClient, trello_limiter
from trello_connector.config import TrelloSettings
from trello_connector.reconcile import reconcile_forever
from trello_connector.registration import ensure_board_webhook
from trello_connector.state import TrelloState
from trello_connector.sync import TrelloSync

PROVIDER = "trello"
GROUP = "trello-connector"


def create_app(
    settings: TrelloSettings | None = None,
    *,
    bus: EventBus | None = None,
    trello_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``bus``: a shared bus (embedded mode); its owner starts and stops it.
    ``trello_transport``: how to reach Trello (tests hand in an emulator in memory)."""
    settings = settings or TrelloSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        if bus is None:
            configure_logging("trello-connector", settings.log_level, settings.log_json)
        if settings.migrate_on_start:
            await migrate_connector(settings.database_url, PROVIDER)
        async with AsyncExitStack() as stack:
            engine = create_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=30.0, transport=trello_transport)
            )
            active_bus = bus or build_bus(settings, client_id=GROUP)
            repo = ConnectorRepository(connector_tables(PROVIDER))
            sessions = session_factory(engine)
            cipher = TokenCipher.from_settings(settings)
            limiter = trello_limiter()

            def client(token: str) -> TrelloClient:
                return TrelloClient(
                    http,
                    api_url=settings.api_url,
                    key=settings.api_key,
                    token=token,
                    limiter=limiter,
                )

            async def client_for(session: AsyncSession, connection_id: str) -> TrelloClient:
                row = await repo.connection(session, connection_id)
                if row is None:
                    raise NotFound(f"no Trello connection {connection_id}")
                return client(cipher.decrypt(row.token_encrypted))

            async def ensure_webhook(session: AsyncSession, connection_id: str, board: str) -> None:
                await ensure_board_webhook(
                    session,
                    repo,
                    await client_for(session, connection_id),
                    settings,
                    connection_id,
                    board,
                )

            sync = TrelloSync(
                sessions,
                repo,
                active_bus,
                client_for,
                brake=DeletionBrake(repo.t, sessions, PROVIDER, deletion_guard_config(settings)),
                namespace=settings.topic_namespace,
                ensure_webhook=ensure_webhook,
            )
            state = TrelloState(
                settings, engine, sessions, repo, active_bus, http, cipher, limiter, sync
            )
            app.state.trello = state

            async def on_link_event(event: CloudEvent[Any]) -> None:
                if isinstance(event.data, ExportRequested) and event.data.provider == PROVIDER:
                    try:
                        await sync.export(event.data)
                    except (PermanentProviderError, NotFound) as exc:
                        # Retrying cannot help (no such list, token revoked): tell the user.
                        await sync.export_failed(event.data, str(exc))

            ns = settings.topic_namespace
            publisher = await stack.enter_async_context(raw_publisher(settings, active_bus))
            policy = RetryPolicy(
                attempts=settings.max_attempts, never_park=(SQLAlchemyError, KafkaError)
            )

            def guarded(handler: Handler, topic: str, name: str) -> Handler:
                # Provider failures are retried with backoff, then parked in the dead-letter
                # topic (`tether dlq replay` puts them back); our own outages are not parked.
                return dead_letter_handler(
                    handler,
                    policy=policy,
                    publisher=publisher,
                    original_topic=topic,
                    dead_letter_topic=topic_name(Topic.DEAD_LETTER, ns),
                    consumer=f"{GROUP}.{name}",
                )

            task_topic = topic_name(Topic.TASK_CHANGED, ns)
            link_topic = topic_name(Topic.LINK_EVENTS, ns)
            # Snapshots of one task waiting in a batch collapse into the newest: a burst of
            # edits costs one card update. Parking in the dead-letter topic stays per event.
            active_bus.subscribe(
                [task_topic],
                GROUP,
                guarded(sync.task_changed, task_topic, "task-changed"),
                coalesce_by=task_of,
                newer_of=newer_task_state,
            )
            active_bus.subscribe([link_topic], GROUP, guarded(on_link_event, link_topic, "exports"))
            if bus is None:
                if settings.bus == "kafka":
                    await ensure_topics(
                        settings.kafka_bootstrap_servers,
                        [topic_name(t, ns) for t in Topic],
                        partitions=settings.topic_partitions,
                    )
                await active_bus.start()
                stack.push_async_callback(active_bus.stop)
            reconciler = asyncio.create_task(reconcile_forever(state), name="trello-reconcile")

            async def stop_reconciler() -> None:
                reconciler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reconciler

            stack.push_async_callback(stop_reconciler)
            yield {}

    def readiness(request: Request) -> Mapping[str, ReadinessCheck]:
        state: TrelloState = request.app.state.trello
        return {"database": lambda: ping(state.engine)}

    return build_service_app(
        service="trello-connector",
        title="Tether Trello connector",
        lifespan=lifespan,
        routers=[
            connections.router,
            oauth.router,
            deletions.router,
            list_mapping_api.router,
            webhook.router,
        ],
        readiness=readiness,
    )
