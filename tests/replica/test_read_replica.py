"""Reads from a real PostgreSQL streaming replica (``pg_basebackup``, started by the project's
own scripts): a caller reads its own writes at once even while the replica lags, reads with no
write to wait for are the replica's, and a replica that is down hands its reads to the
primary. The lag is made by pausing the replica's replay, not by timing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from structlog.testing import capture_logs

from api_gateway.app import create_app as create_gateway
from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import issue_token
from api_gateway.config import GatewaySettings
from task_core.app import create_app as create_task_core
from task_core.config import TaskCoreSettings
from tests.replica.replica import (
    Counts,
    LoadBalancer,
    caught_up,
    header,
    pause_replay,
    serving,
)
from tether_common.db import create_engine, session_factory, transaction
from tether_common.read_replica import READ_AFTER_HEADER

pytestmark = pytest.mark.integration

TASKS = "/internal/v1/tenants/acme/tasks"
CORE = "task-core"
GATEWAY = "api-gateway"
GW = "http://gateway.test"


def core_settings(primary: str, replica: str | None) -> TaskCoreSettings:
    return TaskCoreSettings(
        database_url=primary, read_database_url=replica, bus="inprocess", relay_interval=60.0
    )


@pytest.fixture
async def two_task_cores(
    database_url: str, replica_database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two replicas of task-core on one primary and its read replica."""
    settings = core_settings(database_url, replica_database_url)
    async with (
        serving(create_task_core(settings), "http://core-a.test") as first,
        serving(create_task_core(settings), "http://core-b.test") as second,
    ):
        yield first, second


async def test_a_write_is_read_back_at_once_through_another_task_core_while_the_replica_lags(
    two_task_cores: tuple[httpx.AsyncClient, httpx.AsyncClient],
    database_url: str,
    replica_database_url: str,
) -> None:
    writer, reader = two_task_cores
    await caught_up(database_url, replica_database_url)  # the tables, at least
    await pause_replay(replica_database_url)
    counts = Counts(CORE)

    created = await writer.post(TASKS, json={"title": "Ship"})
    assert created.status_code == 201
    token = header(created, READ_AFTER_HEADER)
    task = f"{TASKS}/{created.json()['id']}"

    # The reader never saw the write and its replica has not replayed it...
    assert (await reader.get(task)).status_code == 404
    # ...but the write's position sends the read to the primary.
    read = await reader.get(task, headers=token)
    assert read.status_code == 200
    assert read.json()["title"] == "Ship"

    changed = await writer.patch(task, json={"title": "Ship it"})
    page = await reader.get(TASKS, headers=header(changed, READ_AFTER_HEADER))
    assert [t["title"] for t in page.json()["items"]] == ["Ship it"]
    history = await reader.get(f"{task}/history", headers=header(changed, READ_AFTER_HEADER))
    assert [v["version"] for v in history.json()["items"]] == [2, 1]
    assert counts.since() == {"replica": 1, "primary": 3, "behind": 3}


async def test_reads_with_no_write_to_wait_for_are_served_by_the_replica(
    two_task_cores: tuple[httpx.AsyncClient, httpx.AsyncClient],
    database_url: str,
    replica_database_url: str,
) -> None:
    writer, reader = two_task_cores
    created = (await writer.post(TASKS, json={"title": "Draft"})).json()
    task = f"{TASKS}/{created['id']}"
    await caught_up(database_url, replica_database_url)
    await pause_replay(replica_database_url)

    changed = await writer.patch(task, json={"title": "Final"})
    assert changed.status_code == 200
    counts = Counts(CORE)
    # No position sent, no write of this tenant by this process: the replica answers, and it
    # has not replayed the change yet.
    stale = await reader.get(task)
    assert stale.json()["title"] == "Draft"
    assert counts.since() == {"replica": 1}
    # The process that wrote pins the tenant: its own reads wait for the replica (primary).
    assert (await writer.get(task)).json()["title"] == "Final"
    assert counts.since() == {"replica": 1, "primary": 1, "behind": 1}
    # Another tenant's reads are not pinned by acme's write.
    other = await writer.get("/internal/v1/tenants/globex/tasks")
    assert other.json()["items"] == []
    assert counts.since() == {"replica": 2, "primary": 1, "behind": 1}


async def test_a_replica_that_is_down_hands_reads_to_the_primary(database_url: str) -> None:
    with socket.socket() as closed:  # a port no server listens on: the replica is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = f"postgresql+asyncpg://tether@127.0.0.1:{port}/tether"
    async with serving(create_task_core(core_settings(database_url, down)), "http://c") as core:
        created = (await core.post(TASKS, json={"title": "Still here"})).json()
        counts = Counts(CORE)
        with capture_logs() as logs:
            read = await core.get(f"{TASKS}/{created['id']}")
        assert read.json()["title"] == "Still here"
        assert counts.since() == {"primary": 1, "unavailable": 1}
        fallback = [e for e in logs if e["event"] == "read_replica_fallback"]
        assert [(e["reason"], e["database"]) for e in fallback] == [("unavailable", CORE)]
        # Reads are served, so task-core stays ready.
        ready = await core.get("/readyz")
        assert ready.status_code == 200, ready.text


async def test_through_the_gateway_writes_and_new_tokens_work_at_once_while_the_replica_lags(
    database_url: str, replica_database_url: str
) -> None:
    core_settings_ = core_settings(database_url, replica_database_url)
    gateway_settings = GatewaySettings(
        database_url=database_url,
        read_database_url=replica_database_url,
        task_core_url="http://task-core.test",
    )
    writer_app, reader_app = create_task_core(core_settings_), create_task_core(core_settings_)
    async with (
        serving(writer_app, "http://core-a.test"),
        serving(reader_app, "http://core-b.test"),
    ):
        balancer = LoadBalancer(
            httpx.ASGITransport(app=writer_app), httpx.ASGITransport(app=reader_app)
        )
        async with (
            serving(create_gateway(gateway_settings, task_core_transport=balancer), GW) as gateway,
            serving(create_gateway(gateway_settings, task_core_transport=balancer), GW) as other,
        ):
            engine = create_engine(database_url)
            try:
                async with transaction(session_factory(engine)) as session:
                    old = await issue_token(
                        AuthRepository(session), tenant_name="acme", email="a@x.org", now=utcnow()
                    )
                await caught_up(database_url, replica_database_url)
                await pause_replay(replica_database_url)
                async with transaction(session_factory(engine)) as session:
                    new = await issue_token(
                        AuthRepository(session), tenant_name="acme", email="b@x.org", now=utcnow()
                    )
            finally:
                await engine.dispose()

            counts = Counts(GATEWAY)
            me = await gateway.get("/v1/me", headers={"Authorization": f"Bearer {old.token}"})
            assert me.json()["user"]["email"] == "a@x.org"
            assert counts.since() == {"replica": 1}  # a replicated token: the replica's
            # Minted while the replica lags: not found there, found on the primary.
            auth = {"Authorization": f"Bearer {new.token}"}
            me = await gateway.get("/v1/me", headers=auth)
            assert me.json()["user"]["email"] == "b@x.org"
            assert counts.since() == {"replica": 2, "primary": 1}

            core_counts = Counts(CORE)
            created = await gateway.post(
                "/v1/tasks", json={"title": "Via the gateway"}, headers=auth
            )
            assert created.status_code == 201
            # Read by the other task-core, which never saw the write: the gateway sends the
            # tenant's last write position, so the primary answers.
            read = await gateway.get(f"/v1/tasks/{created.json()['id']}", headers=auth)
            assert read.status_code == 200, read.text
            assert read.json()["title"] == "Via the gateway"
            assert core_counts.since() == {"primary": 1, "behind": 1}

            # Another gateway replica knows nothing of the write: without the position the
            # lagging replica answers; with the one the write answered, the primary does.
            path = f"/v1/tasks/{created.json()['id']}"
            assert (await other.get(path, headers=auth)).status_code == 404
            written = header(created, READ_AFTER_HEADER)
            read = await other.get(path, headers=auth | written)
            assert read.json()["title"] == "Via the gateway"
