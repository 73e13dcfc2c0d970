"""The end-to-end tier: every service as its own uvicorn process on real Kafka and PostgreSQL,
driven only through the gateway's HTTP API and the Kafka topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.e2e.asana_world import (
    AsanaWorld,
    asana_emulator_process,
    asana_env,
    connected_asana_world,
)
from tests.e2e.jira_world import (
    JiraWorld,
    connected_jira_world,
    jira_emulator_process,
    jira_env,
)
from tests.e2e.kafka_tap import create_namespace_topics, ensure_namespace_topics
from tests.e2e.trello_world import (
    TrelloWorld,
    another_tenant,
    connected_world,
    trello_emulator_process,
    trello_env,
)
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import SERVICES, Deployment, free_port
from tether_events.topics import Topic, topic_name


def new_deployment(
    database_url: str, kafka_bootstrap_servers: str, topic_namespace: str, run_dir: Path
) -> Deployment:
    """Every service, not started yet, each on a free port, in the test's topic namespace."""
    return Deployment(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        database_url=database_url,
        run_dir=run_dir,
        topic_namespace=topic_namespace,
        ports={spec.name: free_port() for spec in SERVICES},
    )


@pytest.fixture
def deployment(
    database_url: str, kafka_bootstrap_servers: str, topic_namespace: str, tmp_path: Path
) -> Iterator[Deployment]:
    deployment = new_deployment(
        database_url, kafka_bootstrap_servers, topic_namespace, tmp_path / "run"
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
def trello_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """The Trello emulator as a process of its own, with its Sandbox board."""
    yield from trello_emulator_process(free_port(), tmp_path).running()


@pytest.fixture
def trello_env_overrides() -> dict[str, str]:
    """Environment given to every service of ``trello_world`` on top of ``trello_env``; a test
    module overrides this fixture to tune settings (e.g. quicker retries)."""
    return {}


@asynccontextmanager
async def running_deployment(
    database_url: str,
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    run_dir: Path,
    env: dict[str, str],
) -> AsyncIterator[tuple[Deployment, str]]:
    """Every service as a process with ``env`` on top: the deployment and an API token."""
    deployment = new_deployment(database_url, kafka_bootstrap_servers, topic_namespace, run_dir)
    deployment.extra_env = env
    await create_namespace_topics(kafka_bootstrap_servers, topic_namespace)
    await asyncio.to_thread(deployment.start, lambda message: None)
    try:
        yield deployment, await asyncio.to_thread(mint_token, deployment)
    finally:
        await asyncio.to_thread(deployment.stop, lambda message: None)


Deploy = Callable[[dict[str, str]], AbstractAsyncContextManager[tuple[Deployment, str]]]


@pytest.fixture
def deploy(
    database_url: str, kafka_bootstrap_servers: str, topic_namespace: str, tmp_path: Path
) -> Deploy:
    """``running_deployment`` on the test's infrastructure, namespace and run directory: call
    it with the environment and enter it (``async with deploy(env) as (deployment, token)``)."""

    def deployed(env: dict[str, str]) -> AbstractAsyncContextManager[tuple[Deployment, str]]:
        run_dir = tmp_path / "run"
        return running_deployment(
            database_url, kafka_bootstrap_servers, topic_namespace, run_dir, env
        )

    return deployed


W = TypeVar("W")


@asynccontextmanager
async def one_world(
    deploy: Deploy,
    env: dict[str, str],
    connected: Callable[[Deployment, EmulatorProcess, str], AbstractAsyncContextManager[W]],
    emulator: EmulatorProcess,
) -> AsyncIterator[W]:
    """A deployment started with ``env`` and its tenant connected to ``emulator`` by
    ``connected`` (one of the worlds' ``connected_*``): the world, for the caller's block."""
    async with (
        deploy(env) as (deployment, api_token),
        connected(deployment, emulator, api_token) as world,
    ):
        yield world


@pytest.fixture
async def trello_world(
    deploy: Deploy,
    trello_emulator: EmulatorProcess,
    trello_env_overrides: dict[str, str],
) -> AsyncIterator[TrelloWorld]:
    """Every service as a process, configured for the emulator, with Trello connected."""
    env = trello_env(trello_emulator) | trello_env_overrides
    async with one_world(deploy, env, connected_world, trello_emulator) as world:
        yield world


@pytest.fixture
def asana_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """The Asana emulator as a process of its own, with its Sandbox project."""
    yield from asana_emulator_process(free_port(), tmp_path).running()


@pytest.fixture
async def asana_world(
    deploy: Deploy,
    asana_emulator: EmulatorProcess,
) -> AsyncIterator[AsanaWorld]:
    """Every service as a process, configured for the Asana emulator, with Asana connected."""
    env = asana_env(asana_emulator)
    async with one_world(deploy, env, connected_asana_world, asana_emulator) as world:
        yield world


@pytest.fixture
async def trello_and_asana(
    deploy: Deploy,
    trello_emulator: EmulatorProcess,
    asana_emulator: EmulatorProcess,
) -> AsyncIterator[tuple[TrelloWorld, AsanaWorld]]:
    """One deployment and one tenant connected to both the Trello and the Asana emulator."""
    env = trello_env(trello_emulator) | asana_env(asana_emulator)
    async with (
        deploy(env) as (deployment, api_token),
        connected_world(deployment, trello_emulator, api_token) as trello,
        connected_asana_world(deployment, asana_emulator, api_token) as asana,
    ):
        yield trello, asana


@pytest.fixture
def jira_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    """The Jira emulator as a process of its own, with its Sandbox project."""
    yield from jira_emulator_process(free_port(), tmp_path).running()


@pytest.fixture
def jira_env_overrides() -> dict[str, str]:
    """Environment given to every service of ``jira_world`` on top of ``jira_env``; a test
    module overrides this fixture to tune settings."""
    return {}


@pytest.fixture
async def jira_world(
    deploy: Deploy,
    jira_emulator: EmulatorProcess,
    jira_env_overrides: dict[str, str],
) -> AsyncIterator[JiraWorld]:
    """Every service as a process, configured for the Jira emulator, with Jira connected by
    the sandbox administrator's API token (admin webhooks)."""
    env = jira_env(jira_emulator) | jira_env_overrides
    async with one_world(deploy, env, connected_jira_world, jira_emulator) as world:
        yield world


@pytest.fixture
async def trello_asana_and_jira(
    deploy: Deploy,
    trello_emulator: EmulatorProcess,
    asana_emulator: EmulatorProcess,
    jira_emulator: EmulatorProcess,
) -> AsyncIterator[tuple[TrelloWorld, AsanaWorld, JiraWorld]]:
    """One deployment and one tenant connected to the Trello, Asana and Jira emulators."""
    env = trello_env(trello_emulator) | asana_env(asana_emulator) | jira_env(jira_emulator)
    async with (
        deploy(env) as (deployment, api_token),
        connected_world(deployment, trello_emulator, api_token) as trello,
        connected_asana_world(deployment, asana_emulator, api_token) as asana,
        connected_jira_world(deployment, jira_emulator, api_token) as jira,
    ):
        yield trello, asana, jira


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
