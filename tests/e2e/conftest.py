"""The end-to-end tier: every service as its own uvicorn process on real Kafka and PostgreSQL,
driven only through the gateway's HTTP API and the Kafka topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.kafka_tap import create_namespace_topics, ensure_namespace_topics
from tests.e2e.trello_world import (
    TrelloEmulatorProcess,
    TrelloWorld,
    another_tenant,
    connected_world,
    trello_env,
)
from tether_devinfra.services import SERVICES, Deployment, free_port
from tether_events.topics import Topic, topic_name


@pytest.fixture
def deployment(
    database_url: str, kafka_bootstrap_servers: str, topic_namespace: str, tmp_path: Path
) -> Iterator[Deployment]:
    deployment = Deployment(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_url=database_url,
        run_dir=tmp_path / "run",
        topic_namespace=topic_namespace,
        ports={spec.name: free_port() for spec in SERVICES},
    )
    ensure_namespace_topics(kafka_bootstrap_servers, topic_namespace)
    deployment.start(lambda message: None)
    try:
        yield deployment
    finally:
        deployment.stop(lambda message: None)


@pytest.fixture
def api_token(deployment: Deployment) -> str:
    return mint_token(deployment)


def mint_token(
    deployment: Deployment, *, tenant: str = "acme", email: str = "ada@example.com"
) -> str:
    """A token minted the way an operator does: ``tether token create`` (the tenant is
    created if missing)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tether_cli.main",
            "token",
            "create",
            "--tenant",
            tenant,
            "--email",
            email,
        ],
        env={**os.environ, "TETHER_GATEWAY_DATABASE_URL": deployment.database_url},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


@pytest.fixture
def trello_emulator(tmp_path: Path) -> Iterator[TrelloEmulatorProcess]:
    """The Trello emulator as a process of its own, with its Sandbox board."""
    emulator = TrelloEmulatorProcess(free_port(), tmp_path)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def trello_env_overrides() -> dict[str, str]:
    """Environment given to every service of ``trello_world`` on top of ``trello_env``; a test
    module overrides this fixture to tune settings (e.g. quicker retries)."""
    return {}


@pytest.fixture
async def trello_world(
    database_url: str,
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    tmp_path: Path,
    trello_emulator: TrelloEmulatorProcess,
    trello_env_overrides: dict[str, str],
) -> AsyncIterator[TrelloWorld]:
    """Every service as a process, configured for the emulator, with Trello connected."""
    deployment = Deployment(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_url=database_url,
        run_dir=tmp_path / "run",
        topic_namespace=topic_namespace,
        ports={spec.name: free_port() for spec in SERVICES},
    )
    deployment.extra_env = trello_env(deployment, trello_emulator) | trello_env_overrides
    await create_namespace_topics(kafka_bootstrap_servers, topic_namespace)
    await asyncio.to_thread(deployment.start, lambda message: None)
    try:
        api_token = await asyncio.to_thread(mint_token, deployment)
        async with connected_world(deployment, trello_emulator, api_token) as world:
            yield world
    finally:
        await asyncio.to_thread(deployment.stop, lambda message: None)


@pytest.fixture
async def second_trello_tenant(trello_world: TrelloWorld) -> AsyncIterator[TrelloWorld]:
    """Another company on ``trello_world``'s deployment: its own API token, Trello member,
    token, board and connection; it shares nothing in Trello with the first tenant."""
    api_token = await asyncio.to_thread(
        mint_token, trello_world.deployment, tenant="globex", email="grace@example.com"
    )
    async with another_tenant(trello_world, api_token, name="globex") as world:
        yield world


def task_changed_topic(deployment: Deployment) -> str:
    return topic_name(Topic.TASK_CHANGED, deployment.topic_namespace)
