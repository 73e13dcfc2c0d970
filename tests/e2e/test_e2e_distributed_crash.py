"""Distributed mode survives ``kill -9`` of task-core and the Trello connector mid-burst:
nothing already answered is lost.

Every service is its own process on Kafka and PostgreSQL. A burst of exports and renames is
cut short by SIGKILL of task-core and the connector in one step, after half of its requests
were answered (the gateway stays up and answers 503 for the rest). Both restarted, every
answered export must end as exactly one active link and one card, every card with its task's
last answered title: task-core's outbox, the connector's outbox and Kafka's committed offsets
carry what the killed processes had promised.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.crash_burst import assert_end_state, burst, converge, create_tasks, observe
from tests.e2e.trello_world import TrelloWorld

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

KILLED = ("task-core", "trello-connector")


async def test_kill_9_of_core_and_connector_mid_burst_loses_nothing_answered(
    trello_world: TrelloWorld,
) -> None:
    world = trello_world
    task_ids = await create_tasks(world.api)

    def kill() -> None:
        for name in KILLED:
            world.deployment.kill(name)

    log = await burst(
        world.api,
        task_ids,
        connection_id=world.connection_id,
        list_id=world.list_id,
        kill=kill,
    )
    for name in KILLED:
        await asyncio.to_thread(world.deployment.wait_dead, name)
    await asyncio.gather(*(asyncio.to_thread(world.deployment.start_one, name) for name in KILLED))

    # Generous: the restarted connector's consumers wait for Kafka to give up on the killed
    # ones (their session timeout) before they get the partitions back.
    seen = await converge(
        lambda: observe(world.api, world.trello, world.board_id, task_ids), log, within=90
    )
    assert_end_state(log, seen)
