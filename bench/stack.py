"""The system under measurement, started as an operator would: every service its own process
on real Kafka and PostgreSQL (distributed), or the one embedded process (``tether run``), plus
the Trello emulator as a process of its own, and the Asana and Jira emulators likewise
(:mod:`bench.providers`, which says how their limits are set).

The emulator runs with Trello's per-token limit (100 calls per 10 s) but its per-key limit
raised (:data:`KEY_LIMIT`): the load is spread over many tokens, as a real deployment's users
are, and Trello's app-wide limit (300 per 10 s per key) is raised for an app on request; the
rate-limited figure runs on one token at Trello's real limit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench import providers
from tether_devinfra import infra
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.process import spawn, terminate
from tether_devinfra.services import SERVICES, Deployment, free_port, wait_http
from tether_events import Topic, topic_name
from tether_events.kafka import ensure_topics

KEY, SECRET = "bench-key", "bench-secret"
KEY_LIMIT = 1_000_000


@dataclass
class Stack:
    """What a benchmark drives: the gateway, a token, the Trello emulator, and the processes
    whose memory is measured (name -> pid file)."""

    mode: str  # distributed | embedded
    gateway_url: str
    token: str
    trello: EmulatorProcess
    pid_files: dict[str, Path] = field(default_factory=dict)
    kafka_bootstrap_servers: str | None = None
    topic_namespace: str = ""
    database_url: str | None = None
    gateway_database_url: str | None = None  # where more tenants' tokens are minted
    others: dict[str, EmulatorProcess] = field(default_factory=dict)  # Asana's and Jira's

    def task_changed_topic(self) -> str:
        return topic_name(Topic.TASK_CHANGED, self.topic_namespace)


def trello_process(run_dir: Path) -> EmulatorProcess:
    args = ["--key", KEY, "--secret", SECRET, "--key-limit", str(KEY_LIMIT)]
    return EmulatorProcess("trello", free_port(), run_dir, [*args, "--retry-delays", "0.2,0.5,1"])


def trello_env(emulator: EmulatorProcess, prefix: str = "TETHER_TRELLO_") -> dict[str, str]:
    # Reconciliation is a periodic cost of its own, not of a change: kept out of the way.
    return {
        f"{prefix}API_URL": f"{emulator.url}/1",
        f"{prefix}API_KEY": KEY,
        f"{prefix}API_SECRET": SECRET,
        f"{prefix}RECONCILE_INTERVAL": "3600",
        # The emulator's key limit is raised (see above): so is Tether's budget below it.
        f"{prefix}KEY_LIMIT": str(KEY_LIMIT),
    }


def mint_token(database_url: str, tenant: str = "bench") -> str:
    """A gateway token for ``tenant``, minted as an operator does (``tether token create``)."""
    result = subprocess.run(
        [sys.executable, "-m", "tether_cli.main", "token", "create", "--tenant", tenant,
         "--email", f"{tenant}@example.com"],
        env={**os.environ, "TETHER_GATEWAY_DATABASE_URL": database_url},
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout.strip()


async def connect(database_url: str) -> asyncpg.Connection:
    """A plain asyncpg connection to the database ``database_url`` names (SQLAlchemy form)."""
    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username,
        password=url.password, database=url.database,
    )  # fmt: skip


async def _on_server(server_url: str, statement: str) -> None:
    admin = await connect(server_url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def _fresh_database(server_url: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name)
    return name, url.render_as_string(hide_password=False)


async def _drop_database(server_url: str, name: str) -> None:
    await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def distributed(run_dir: Path) -> AsyncIterator[Stack]:
    """Kafka and PostgreSQL (started if not running, stopped after if so), a fresh database
    and topic namespace, each service as a process, the Trello emulator."""
    started_infra = not infra.is_running()
    trello = trello_process(run_dir)
    # The emulators start while Kafka and PostgreSQL do: each waits on its own process.
    servers, _, others = await asyncio.gather(
        asyncio.to_thread(infra.ensure_running),
        asyncio.to_thread(trello.start),
        providers.start(run_dir),
    )
    name, database_url = await _fresh_database(servers.database_url)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    await ensure_topics(servers.kafka_bootstrap_servers, [topic_name(t, namespace) for t in Topic])
    deployment = Deployment(
        kafka_bootstrap_servers=servers.kafka_bootstrap_servers,
        database_url=database_url,
        run_dir=run_dir,
        topic_namespace=namespace,
        ports={spec.name: free_port() for spec in SERVICES},
        extra_env=trello_env(trello) | providers.env(others),
    )
    try:
        await asyncio.to_thread(deployment.start, lambda message: None)
        token = await asyncio.to_thread(mint_token, database_url)
        yield Stack(
            "distributed",
            deployment.url("api-gateway"),
            token,
            trello,
            {spec.name: deployment.pid_file(spec) for spec in SERVICES},
            servers.kafka_bootstrap_servers,
            namespace,
            database_url,
            gateway_database_url=database_url,
            others=others,
        )
    finally:
        await asyncio.to_thread(deployment.stop, lambda message: None)
        trello.stop()
        providers.stop(others)
        await _drop_database(servers.database_url, name)
        if started_infra:
            await asyncio.to_thread(infra.stop)


@asynccontextmanager
async def embedded(run_dir: Path) -> AsyncIterator[Stack]:
    """``tether run`` (one process, SQLite, the in-process bus) and the Trello emulator."""
    trello = trello_process(run_dir)
    _, others = await asyncio.gather(asyncio.to_thread(trello.start), providers.start(run_dir))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    databases = {
        f"{spec.env_prefix}DATABASE_URL": f"sqlite+aiosqlite:///{run_dir}/{spec.name}.db"
        for spec in SERVICES
    }
    env = {
        "TETHER_PORT": str(port),
        "TETHER_BUS_PATH": str(run_dir / "bus.db"),
        "TETHER_TRELLO_PUBLIC_URL": url,
        **databases,
        **trello_env(trello),
        **providers.env(others, public_url=url),
    }
    log, pid_file = run_dir / "tether.log", run_dir / "tether.pid"
    spawn([sys.executable, "-m", "tether_cli", "run"], log, pid_file, env=env)
    try:
        await asyncio.to_thread(wait_http, f"{url}/healthz", within=90, log=log, pid_file=pid_file)
        gateway_db = databases["TETHER_GATEWAY_DATABASE_URL"]
        token = await asyncio.to_thread(mint_token, gateway_db)
        yield Stack(
            "embedded", url, token, trello, {"tether (embedded)": pid_file},
            others=others, gateway_database_url=gateway_db,
        )  # fmt: skip
    finally:
        terminate(pid_file)
        trello.stop()
        providers.stop(others)
