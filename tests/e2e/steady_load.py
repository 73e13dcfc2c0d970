"""Steady edits on many tasks at once, from both sides, and what they must leave behind.

Each task is edited by one side only (the core's API, or a person at the provider), one edit
after another: edit ``i`` is sent once edit ``i - 1`` was answered, every task at the same
time. An edit whose answer is lost (its replica killed mid-request, a 503 while a replica is
down) is sent again as it was, as a client does: the same title twice is one change.

Every title carries a marker, ``sx<task>e<edit>``, so the order of what reached each copy can
be read back: from the provider's request log (what Tether wrote) and the core's history (what
Tether applied), and checked against the order the edits were made in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.jira_world import JiraWorld
from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import ProviderWorld

MARKER = re.compile(r"sx(\d+)e(\d+)")
RETRY_WITHIN = (
    120.0  # how long an edit may keep failing (a replica restarting) before the test fails
)


def title(task: int, edit: int) -> str:
    return f"Plan sx{task:02d}e{edit:02d}"


@dataclass
class LoadTask:
    """One task of the load: its number, its core id, its provider copy and who edits it."""

    number: int
    world: ProviderWorld
    task_id: str
    external_id: str
    edited_at_provider: bool
    last_edit: int = 0  # the edit whose title was answered last (0: the export's title)


@dataclass
class Load:
    """The tasks and a count of answered edits, with actions fired at given counts."""

    tasks: list[LoadTask]
    answered: int = 0
    behind: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    at_count: dict[int, Callable[[], None]] = field(default_factory=dict)

    def answer(self) -> None:
        self.answered += 1
        if (action := self.at_count.pop(self.answered, None)) is not None:
            action()  # synchronously: no other edit is answered in between


async def provider_title(task: LoadTask) -> str | None:
    """The title the task's provider copy holds now."""
    world = task.world
    if isinstance(world, TrelloWorld):
        return (await world.card(task.external_id)).get("name")
    if isinstance(world, AsanaWorld):
        return (await world.asana_task(task.external_id)).get("name")
    assert isinstance(world, JiraWorld)
    return ((await world.issue(task.external_id)).get("fields") or {}).get("summary")


async def _send_once(task: LoadTask, name: str) -> bool:
    world = task.world
    try:
        if not task.edited_at_provider:
            answer = await world.api.patch(f"/v1/tasks/{task.task_id}", json={"title": name})
        elif isinstance(world, TrelloWorld):
            path = f"/_emulator/cards/{task.external_id}/edit"
            answer = await world.emulator.post(path, json={"name": name})
        elif isinstance(world, AsanaWorld):
            path = f"/_emulator/tasks/{task.external_id}/edit"
            answer = await world.emulator.post(path, json={"name": name})
        else:
            path = f"/_emulator/issues/{task.external_id}/edit"
            answer = await world.emulator.post(path, json={"fields": {"summary": name}})
    except httpx.TransportError:
        return False  # the connection dropped: a replica died with the request
    if answer.status_code in (502, 503, 504):
        return False  # a replica behind the gateway was down: send it again
    assert answer.status_code == 200, answer.text
    return True


async def edit(load: Load, task: LoadTask, number: int) -> None:
    """Send edit ``number`` of ``task`` until it is answered."""
    name = title(task.number, number)
    deadline = asyncio.get_running_loop().time() + RETRY_WITHIN
    while not await _send_once(task, name):
        assert asyncio.get_running_loop().time() < deadline, f"{name} never answered"
        await asyncio.sleep(0.2)  # a retry's pause, not an ordering device
    task.last_edit = number
    load.answer()


async def run_edits(load: Load, first: int, last: int) -> None:
    """Edits ``first``..``last`` of every task, each task's in order, all tasks at once."""

    async def one(task: LoadTask) -> None:
        for number in range(first, last + 1):
            await edit(load, task, number)

    async with asyncio.TaskGroup() as group:
        for task in load.tasks:
            group.create_task(one(task))


def converged(load: Load) -> Callable[[], Awaitable[Any]]:
    """A probe: true once every task's core and provider copy hold its last edit's title;
    until then ``load.behind`` lists those that do not (number, wanted, core's, provider's)."""

    async def probe() -> Any:
        load.behind = []
        for task in load.tasks:
            want = title(task.number, task.last_edit)
            core = (await task.world.task(task.task_id))["title"]
            item = await provider_title(task)
            if core != want or item != want:
                load.behind.append((task.number, want, core, item))
        return not load.behind

    return probe


async def written_markers(task: LoadTask) -> list[int]:
    """The edits whose titles Tether wrote to the task's copy, in the order the provider
    accepted them (refused calls, a 429 say, changed nothing and are left out)."""
    edits = []
    for request in await task.world.requests():
        if not task.world.is_write(request, task.external_id) or request["status"] >= 300:
            continue
        for found in MARKER.finditer(request["excerpt"]):
            if int(found.group(1)) == task.number:
                edits.append(int(found.group(2)))
    return edits


async def applied_markers(task: LoadTask) -> list[int]:
    """The edits whose titles the core applied to the task, in the order it applied them."""
    answer = await task.world.api.get(f"/v1/tasks/{task.task_id}/history", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["next_cursor"] is None, "more history than one page: raise the limit"
    entries = sorted(page["items"], key=lambda entry: int(entry["version"]))
    edits = []
    for entry in entries:
        if "title" in entry["changed_fields"] and (
            found := MARKER.search(str(entry["fields"].get("title", "")))
        ):
            edits.append(int(found.group(2)))
    return edits
