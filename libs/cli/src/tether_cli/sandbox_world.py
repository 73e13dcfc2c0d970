"""What the sandbox sets up through Tether's own API before it hands over: the emulator's
account connected (the same connection on every start), its lists mapped, and a sample task
exported to a card, so every step it prints can name real ids."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tether_emulators.trello.emulator import SandboxInfo

SAMPLE_TITLE = "Try Tether"
SAMPLE_LIST = "To do"
DONE_LIST = "Done"


class SandboxSetupFailed(Exception):
    """Tether did not do what the sandbox asked of it; the message says what and why."""


@dataclass(frozen=True)
class SandboxWorld:
    """Everything the printed steps refer to."""

    tether_url: str
    emulator_url: str
    api_token: str
    emulator_key: str
    emulator_token: str
    connection_id: str
    board_id: str
    list_ids: dict[str, str]
    task_id: str
    card_id: str


def sandbox_list_mapping(lists: dict[str, str]) -> dict[str, str]:
    """List id -> meaning for the sandbox board: "Done" is done, every other list is not."""
    return {list_id: "done" if name == DONE_LIST else "not_done" for name, list_id in lists.items()}


def _checked(answer: httpx.Response, doing: str) -> Any:
    if answer.is_error:
        raise SandboxSetupFailed(f"{doing}: {answer.status_code} {answer.text}")
    return answer.json()


async def connect(api: httpx.AsyncClient, info: SandboxInfo) -> str:
    """Connect the emulator's sandbox account and map its lists; the connection's id.

    Tether keys a connection by the provider account, so this repairs the connection made on
    an earlier start (same id) instead of adding a second one.
    """
    connected = _checked(
        await api.post("/v1/connections", json={"provider": "trello", "token": info.token}),
        "connecting the emulator's sandbox account",
    )
    connection_id: str = connected["id"]
    # The board's Done list means done: dragging a card there completes its task.
    _checked(
        await api.put(
            f"/v1/connections/{connection_id}/list-mapping",
            json={"lists": sandbox_list_mapping(info.list_ids)},
        ),
        "mapping the sandbox board's lists",
    )
    return connection_id


async def export_sample_task(
    api: httpx.AsyncClient, connection_id: str, list_id: str, *, timeout: float = 60.0
) -> tuple[str, str]:
    """Create the sample task, export it to ``list_id``; (task id, card id) once it has a card.

    The emulator keeps its cards in memory only, so every start makes a fresh sample card.
    """
    task = _checked(
        await api.post("/v1/tasks", json={"title": SAMPLE_TITLE}), "creating the sample task"
    )
    task_id: str = task["id"]
    _checked(
        await api.post(
            f"/v1/tasks/{task_id}/exports",
            json={"connection_id": connection_id, "target": {"list_id": list_id}},
        ),
        "exporting the sample task",
    )
    # The export goes through the bus and the connector: wait until the link names its card.
    deadline = time.monotonic() + timeout
    while True:
        links = _checked(await api.get(f"/v1/tasks/{task_id}/links"), "reading the links")
        link = next((item for item in links if item["connection_id"] == connection_id), None)
        if link is not None and link["external_id"]:
            return task_id, str(link["external_id"])
        if link is not None and link["status"] == "failed":
            raise SandboxSetupFailed(f"exporting the sample task failed: {link['error']}")
        if time.monotonic() > deadline:
            raise SandboxSetupFailed(f"the sample task had no card after {timeout:.0f} s")
        await asyncio.sleep(0.1)
