"""The data a benchmark runs on: Trello members with a token and a board each, connected to
Tether through the gateway, and tasks exported to them (spread evenly), all made through the
public APIs (the gateway's, and the emulator's control API for what a person does in Trello).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import httpx

from bench.progress import Progress


@dataclass(frozen=True)
class Board:
    token: str
    board_id: str
    list_id: str
    connection_id: str


@dataclass(frozen=True)
class LinkedTask:
    task_id: str
    card_id: str
    board: Board


async def add_board(api: httpx.AsyncClient, trello: httpx.AsyncClient, index: int) -> Board:
    """A Trello member of its own (so a token of its own), a board only it is on, and a
    Tether connection with that token."""
    token = secrets.token_hex(32)  # as Trello hands them out
    member = await trello.post(
        "/_emulator/members",
        json={"username": f"bench{index}", "token": token, "joinBoards": False},
    )
    member.raise_for_status()
    board = await trello.post(
        "/_emulator/boards", json={"name": f"Bench {index}", "members": [member.json()["id"]]}
    )
    board.raise_for_status()
    connected = await api.post("/v1/connections", json={"provider": "trello", "token": token})
    if connected.status_code != 201:
        raise RuntimeError(f"connecting board {index} failed: {connected.text}")
    answer = board.json()
    return Board(token, answer["id"], answer["lists"][0]["id"], connected.json()["id"])


async def create_task(api: httpx.AsyncClient, title: str) -> str:
    created = await api.post("/v1/tasks", json={"title": title})
    if created.status_code != 201:
        raise RuntimeError(f"creating a task failed: {created.text}")
    return str(created.json()["id"])


async def request_export(api: httpx.AsyncClient, task_id: str, board: Board) -> None:
    exported = await api.post(
        f"/v1/tasks/{task_id}/exports",
        json={"connection_id": board.connection_id, "target": {"list_id": board.list_id}},
    )
    if exported.status_code != 202:
        raise RuntimeError(f"exporting {task_id} failed: {exported.text}")


async def active_card(api: httpx.AsyncClient, task_id: str, within: float = 120) -> str:
    """The card id once the task's link is active (polled; a benchmark's setup, not a
    measurement)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        links = (await api.get(f"/v1/tasks/{task_id}/links")).json()
        if links and links[0]["status"] == "active":
            return str(links[0]["external_id"])
        if links and links[0]["status"] == "failed":
            raise RuntimeError(f"the export of {task_id} failed: {links[0]['error']}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the export of {task_id} did not become active within {within}s")


async def build(
    api: httpx.AsyncClient, trello: httpx.AsyncClient, boards: int, tasks: int, say: Progress
) -> list[LinkedTask]:
    """``boards`` connections and ``tasks`` tasks exported round-robin over them."""
    made: list[Board] = []
    for index in say.over(range(boards), "connecting Trello boards"):
        made.append(await add_board(api, trello, index))
    linked: list[LinkedTask] = []
    limit = asyncio.Semaphore(8)

    async def one(index: int) -> LinkedTask:
        board = made[index % len(made)]
        async with limit:
            task_id = await create_task(api, f"bench task {index}")
            await request_export(api, task_id, board)
            card_id = await active_card(api, task_id)
        say.advance()
        return LinkedTask(task_id, card_id, board)

    say.start(tasks, "exporting tasks")
    linked = list(await asyncio.gather(*(one(i) for i in range(tasks))))
    say.done()
    return linked
