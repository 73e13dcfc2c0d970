"""Tasks linked to all three providers: a Trello card, an Asana task and a Jira issue each
(the same core task exported three times, one export per provider, as a person would), spread
round-robin over the Trello boards, Asana projects and Jira projects of many connections.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from bench.progress import Progress
from bench.providers import Place, add_asana, add_jira
from bench.world import Board, create_task

PROVIDERS = ("trello", "asana", "jira")


@dataclass(frozen=True)
class CrossTask:
    """A core task and its copies: provider -> the provider's id (card id, Asana task gid,
    Jira issue id)."""

    task_id: str
    items: dict[str, str]


async def _export(api: httpx.AsyncClient, task_id: str, place: Place) -> None:
    answer = await api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": place.connection_id, "target": place.target},
    )
    if answer.status_code != 202:
        raise RuntimeError(f"exporting {task_id} to {place.provider} failed: {answer.text}")


async def active_items(api: httpx.AsyncClient, task_id: str, within: float = 120) -> dict[str, str]:
    """provider -> external id, once the task's link to every provider is active (polled; a
    benchmark's setup, not a measurement)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        links = (await api.get(f"/v1/tasks/{task_id}/links")).json()
        failed = [x for x in links if x["status"] == "failed"]
        if failed:
            raise RuntimeError(f"an export of {task_id} failed: {failed[0]['error']}")
        active = {x["provider"]: str(x["external_id"]) for x in links if x["status"] == "active"}
        if set(active) >= set(PROVIDERS):
            return active
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the exports of {task_id} did not all become active within {within}s")


async def connect(
    api: httpx.AsyncClient, clients: dict[str, httpx.AsyncClient], count: int, say: Progress
) -> dict[str, list[Place]]:
    """``count`` Asana and ``count`` Jira connections: provider -> places."""
    places: dict[str, list[Place]] = {"asana": [], "jira": []}
    for index in say.over(range(count), "connecting Asana and Jira projects"):
        places["asana"].append(await add_asana(api, clients["asana"], index))
        places["jira"].append(await add_jira(api, clients["jira"], index))
    return places


async def build(
    api: httpx.AsyncClient,
    boards: list[Board],
    places: dict[str, list[Place]],
    tasks: int,
    say: Progress,
) -> list[CrossTask]:
    """``tasks`` new tasks, task ``i`` exported to board ``i``, Asana project ``i`` and Jira
    project ``i`` (each modulo how many there are)."""
    limit = asyncio.Semaphore(8)

    async def one(index: int) -> CrossTask:
        board = boards[index % len(boards)]
        to = [
            Place("trello", board.connection_id, {"list_id": board.list_id}),
            places["asana"][index % len(places["asana"])],
            places["jira"][index % len(places["jira"])],
        ]
        async with limit:
            task_id = await create_task(api, f"bench crossing task {index}")
            for place in to:
                await _export(api, task_id, place)
            items = await active_items(api, task_id)
        say.advance()
        return CrossTask(task_id, items)

    say.start(tasks, "exporting tasks to Trello, Asana and Jira")
    made = list(await asyncio.gather(*(one(i) for i in range(tasks))))
    say.done()
    return made
