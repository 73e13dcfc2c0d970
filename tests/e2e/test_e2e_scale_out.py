"""Scale-out, proven: two replicas of task-core and of each connector share their consumer
groups on the real broker, behind a load balancer (HTTP: the gateway's calls, the providers'
webhooks). Under steady edits from both sides, on Trello, Asana and Jira at once, one replica
of each is killed (``kill -9``) and later restarted: the group rebalances twice mid-stream.

What must hold when the edits stop:
- no change lost: every task and every provider copy holds its last edit;
- no provider write duplicated: each title Tether wrote to a copy, it wrote once;
- per-task order kept: titles reached each copy, and were applied in the core, in the order
  they were made;
- no duplicate copy: one card, task or issue per exported task, one active link.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.asana_world import AsanaWorld, asana_env, connected_asana_world
from tests.e2e.balancer import Balancer, balancing
from tests.e2e.conftest import mint_token, new_deployment
from tests.e2e.jira_world import JiraWorld, connected_jira_world, jira_env
from tests.e2e.kafka_tap import create_namespace_topics
from tests.e2e.steady_load import (
    MARKER,
    Load,
    LoadTask,
    applied_markers,
    converged,
    run_edits,
    title,
    written_markers,
)
from tests.e2e.trello_world import TrelloWorld, connected_world, trello_env
from tests.e2e.world import ProviderWorld, eventually
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import Deployment
from tether_events import Topic, topic_name

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REPLICATED = ("task-core", "trello-connector", "asana-connector", "jira-connector")
TASKS_PER_SIDE = 3  # per provider: edited in the core, and as many edited at the provider
EDITS = 9  # per task, before the restarted replicas are awaited
KILL_AT = 1 / 3  # of all edits answered
RESTART_AT = 2 / 3
CONVERGE_WITHIN = 240.0
REBALANCE_WITHIN = 120.0  # a killed member's session (10 s) plus the others' rejoin


def quiet(message: str) -> None:
    del message


def routed_env(balancers: dict[str, Balancer], gateway_url: str) -> dict[str, str]:
    """Every caller of a replicated service goes through its balancer: the gateway's calls,
    the providers' webhooks (each connector's public URL), the OAuth callbacks' return."""
    env = {"TETHER_GATEWAY_TASK_CORE_URL": balancers["task-core"].url}
    for provider in ("trello", "asana", "jira"):
        balancer = balancers[f"{provider}-connector"]
        env[f"TETHER_GATEWAY_{provider.upper()}_CONNECTOR_URL"] = balancer.url
        env[f"TETHER_{provider.upper()}_PUBLIC_URL"] = balancer.url
        env[f"TETHER_{provider.upper()}_OAUTH_CALLBACK_URL"] = (
            f"{gateway_url}/v1/connections/{provider}/callback"
        )
    return env


@asynccontextmanager
async def two_replicas(
    stack: AsyncExitStack, first: Deployment, second: Deployment, env: dict[str, str]
) -> AsyncIterator[None]:
    """``first`` with every service, ``second`` with a second replica of each replicated one."""
    first.extra_env = second.extra_env = env
    stack.push_async_callback(asyncio.to_thread, first.stop, quiet)
    await asyncio.to_thread(first.start, quiet)
    stack.push_async_callback(asyncio.to_thread, second.stop, quiet)
    await asyncio.to_thread(second.start, quiet, only=REPLICATED)
    yield


async def exported_tasks(worlds: list[ProviderWorld]) -> list[LoadTask]:
    """Per world, ``2 * TASKS_PER_SIDE`` tasks exported, all at once, once their links are
    active: the first half edited in the core, the second at the provider."""

    async def one(number: int, world: ProviderWorld, at_provider: bool) -> LoadTask:
        task_id = await world.new_task(title=title(number, 0))
        await world.export_to(task_id, world.target())
        link = await eventually(
            world.link_in(task_id, "active"), within=120, what=f"task {number}'s export"
        )
        return LoadTask(number, world, task_id, str(link["external_id"]), at_provider)

    plan = [
        (number, world, side >= TASKS_PER_SIDE)
        for number, (world, side) in enumerate(
            (world, side) for world in worlds for side in range(2 * TASKS_PER_SIDE)
        )
    ]
    async with asyncio.TaskGroup() as group:
        made = [group.create_task(one(*spec)) for spec in plan]
    return [task.result() for task in made]


async def assigned_partitions(deployment: Deployment, service: str, topic: str) -> int:
    """How many of ``topic``'s partitions the service's replica in ``deployment`` holds now,
    by its own consumer-lag series (one per assigned partition)."""
    async with httpx.AsyncClient(base_url=deployment.url(service), timeout=10) as client:
        text = (await client.get("/metrics")).text
    return sum(
        1
        for family in text_string_to_metric_families(text)
        if family.name == "tether_consumer_lag"
        for sample in family.samples
        if sample.labels.get("topic") == topic
    )


def replicas_hold_partitions(second: Deployment) -> Callable[[], Awaitable[dict[str, int]]]:
    """A probe: truthy once each replica in ``second`` holds some of its groups' partitions
    (each connector of TaskChanged, task-core of any topic); else empty."""

    async def probe() -> dict[str, int]:
        namespace = second.topic_namespace
        held = {
            name: await assigned_partitions(second, name, topic_name(Topic.TASK_CHANGED, namespace))
            for name in REPLICATED[1:]
        }
        held["task-core"] = sum(
            [
                await assigned_partitions(second, "task-core", topic_name(topic, namespace))
                for topic in Topic
            ]
        )
        return held if all(held.values()) else {}

    return probe


def kill_replicas(deployment: Deployment) -> Callable[[], None]:
    def kill() -> None:
        for name in REPLICATED:
            deployment.kill(name)

    return kill


async def test_two_replicas_lose_nothing_when_one_is_killed_and_restarted_mid_stream(
    database_url: str,
    kafka_bootstrap_servers: str,
    topic_namespace: str,
    tmp_path: Path,
    trello_emulator: EmulatorProcess,
    asana_emulator: EmulatorProcess,
    jira_emulator: EmulatorProcess,
) -> None:
    first = new_deployment(database_url, kafka_bootstrap_servers, topic_namespace, tmp_path / "a")
    second = new_deployment(database_url, kafka_bootstrap_servers, topic_namespace, tmp_path / "b")
    await create_namespace_topics(kafka_bootstrap_servers, topic_namespace)
    async with AsyncExitStack() as stack:
        balancers = {
            name: await stack.enter_async_context(
                balancing([first.ports[name], second.ports[name]])
            )
            for name in REPLICATED
        }
        env = trello_env(trello_emulator) | asana_env(asana_emulator) | jira_env(jira_emulator)
        env |= routed_env(balancers, first.url("api-gateway"))
        await stack.enter_async_context(two_replicas(stack, first, second, env))
        token = await asyncio.to_thread(mint_token, first)
        trello = await stack.enter_async_context(connected_world(first, trello_emulator, token))
        asana = await stack.enter_async_context(connected_asana_world(first, asana_emulator, token))
        jira = await stack.enter_async_context(connected_jira_world(first, jira_emulator, token))
        worlds: list[ProviderWorld] = [trello, asana, jira]

        load = Load(await exported_tasks(worlds))
        total = len(load.tasks) * EDITS
        restarted: list[asyncio.Task[None]] = []

        def restart() -> None:
            async def again() -> None:
                for name in REPLICATED:
                    await asyncio.to_thread(second.wait_dead, name)
                await asyncio.to_thread(second.start, quiet, only=REPLICATED)

            restarted.append(asyncio.get_running_loop().create_task(again()))

        load.at_count[int(total * KILL_AT)] = kill_replicas(second)
        load.at_count[int(total * RESTART_AT)] = restart
        await run_edits(load, 1, EDITS)
        assert load.answered == total
        assert len(restarted) == 1
        await restarted[0]
        # One more edit each with the restarted replicas back in their groups.
        await run_edits(load, EDITS + 1, EDITS + 1)

        try:
            await eventually(converged(load), within=CONVERGE_WITHIN, what="every copy's last edit")
        except AssertionError as exc:
            raise AssertionError(f"behind (task, wanted, core, provider): {load.behind}") from exc
        await check_no_duplicates_and_order(load, worlds)
        await check_both_replicas_took_part(load, second, balancers)


async def check_no_duplicates_and_order(load: Load, worlds: list[ProviderWorld]) -> None:
    for task in load.tasks:
        written = await written_markers(task)
        assert written == sorted(set(written)), f"task {task.number}: writes {written}"
        if task.edited_at_provider:
            assert written == [], f"task {task.number}: its own edits written back: {written}"
        else:
            assert written[-1] == task.last_edit, f"task {task.number}: writes {written}"
        applied = await applied_markers(task)
        assert applied == sorted(set(applied)), f"task {task.number}: applied {applied}"
        assert applied[-1] == task.last_edit
        links = await task.world.links(task.task_id)
        assert [link["status"] for link in links] == ["active"], links
    for world in worlds:
        copies = Counter(int(found.group(1)) for found in await copy_markers(world))
        mine = {task.number for task in load.tasks if task.world is world}
        assert set(copies) == mine, copies
        assert set(copies.values()) == {1}, copies


async def copy_markers(world: ProviderWorld) -> list[re.Match[str]]:
    """The marker of every copy at the provider (archived or trashed ones too)."""
    if isinstance(world, TrelloWorld):
        names = [card["name"] for card in await world.board_cards()]
    elif isinstance(world, AsanaWorld):
        names = [task["name"] for task in await world.project_tasks()]
    else:
        assert isinstance(world, JiraWorld)
        issues = await world.project_issues()
        names = [(issue.get("fields") or {}).get("summary", "") for issue in issues]
    return [found for name in names if (found := MARKER.search(str(name)))]


async def check_both_replicas_took_part(
    load: Load, second: Deployment, balancers: dict[str, Balancer]
) -> None:
    """Each restarted replica holds some of its group's partitions, and each balancer handed
    connections to both replicas (the webhooks and the gateway's calls were shared)."""
    # Still holding them: a late rebalance (the killed member's session ending) may be
    # under way, during which no member holds anything, hence eventually.
    await eventually(
        replicas_hold_partitions(second),
        within=REBALANCE_WITHIN,
        what="the restarted replicas holding partitions",
    )
    for name, balancer in balancers.items():
        assert len([port for port, n in balancer.served.items() if n > 0]) == 2, (
            name,
            balancer.served,
        )
