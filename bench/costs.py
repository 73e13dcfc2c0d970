"""Provider calls per change, one change at a time on an idle system: per core edit, per
person's edit in Trello, per export, and per export onto a board of 5,000 cards; and the
writes a burst of 20 edits to one task within a second costs.

Each figure counts every call the Trello emulator received from the change until nothing more
came for a second (the write, the read of our own echo, anything else it caused); periodic
reconciliation is off (it is a cost per interval, not per change).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.calls import RequestLog, kinds
from bench.progress import Progress
from bench.world import Board, LinkedTask, active_card, add_board, create_task, request_export


@dataclass
class Cost:
    what: str
    samples: int
    calls: int
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def per_change(self) -> float:
        return self.calls / max(self.samples, 1)


async def _measured(log: RequestLog, what: str, samples: int, work: Any) -> Cost:
    await _settled(log)
    first = log.last_seq
    for index in range(samples):
        await work(index)
        await _settled(log)
    entries = log.since(first)
    return Cost(what, samples, len(entries), kinds(entries))


async def core_edits(
    api: httpx.AsyncClient, log: RequestLog, task: LinkedTask, samples: int
) -> Cost:
    async def edit(index: int) -> None:
        title = f"core edit {index}"
        answer = await api.patch(f"/v1/tasks/{task.task_id}", json={"title": title})
        answer.raise_for_status()
        await _until(lambda: _card_title(log, task.card_id, title))

    return await _measured(log, "core edit", samples, edit)


async def person_edits(
    api: httpx.AsyncClient,
    trello: httpx.AsyncClient,
    log: RequestLog,
    task: LinkedTask,
    samples: int,
) -> Cost:
    async def edit(index: int) -> None:
        title = f"person edit {index}"
        done = await trello.post(f"/_emulator/cards/{task.card_id}/edit", json={"name": title})
        done.raise_for_status()

        async def in_core() -> bool:
            got = (await api.get(f"/v1/tasks/{task.task_id}")).json()
            return bool(got.get("title") == title)

        await _until(in_core)

    return await _measured(log, "provider edit", samples, edit)


async def exports(
    api: httpx.AsyncClient, log: RequestLog, board: Board, samples: int, what: str = "export"
) -> Cost:
    async def export(index: int) -> None:
        task_id = await create_task(api, f"{what} {index}")
        await request_export(api, task_id, board)
        await active_card(api, task_id)

    return await _measured(log, what, samples, export)


async def export_to_a_full_board(
    api: httpx.AsyncClient,
    trello: httpx.AsyncClient,
    log: RequestLog,
    index: int,
    cards: int,
    say: Progress,
) -> Cost:
    """An export onto a board that already holds ``cards`` cards (made by a person)."""
    board = await add_board(api, trello, index)
    say.note(f"filling a board with {cards} cards")
    made = await trello.post(
        "/_emulator/cards/fill", json={"idList": board.list_id, "count": cards, "name": "existing"}
    )
    made.raise_for_status()
    return await exports(api, log, board, 1, f"export to a board of {cards} cards")


async def burst(api: httpx.AsyncClient, log: RequestLog, task: LinkedTask, edits: int) -> Cost:
    """``edits`` edits to one task within a second; the cost counts card writes only."""

    async def edit_burst(_: int) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(edits):
            delay = start + n / edits - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            answer = await api.patch(f"/v1/tasks/{task.task_id}", json={"title": f"burst {n}"})
            answer.raise_for_status()
        await _until(lambda: _card_title(log, task.card_id, f"burst {edits - 1}"))

    cost = await _measured(log, f"burst of {edits} edits", 1, edit_burst)
    writes = sum(n for k, n in cost.kinds.items() if k.startswith("PUT /1/cards/"))
    return Cost(cost.what, 1, writes, cost.kinds)


async def _settled(log: RequestLog) -> None:
    if not await log.quiet():
        raise RuntimeError("Trello kept receiving calls on an idle system for a minute")


async def _card_title(log: RequestLog, card_id: str, title: str) -> bool:
    answer = await log.emulator.get(f"/_emulator/cards/{card_id}")
    if answer.status_code == 200:
        return bool(answer.json().get("name") == title)
    return False


async def _until(probe: Any, within: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await probe():
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("a change did not arrive within a minute")
