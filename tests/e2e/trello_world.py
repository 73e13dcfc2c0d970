"""An end-to-end world with Trello: every service as a process, plus the Trello emulator as a
process of its own, wired together only through configuration, as an operator would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.emulator_process import EmulatorProcess
from tether_devinfra.services import Deployment

KEY, SECRET = "e2e-key", "e2e-secret"


def trello_emulator_process(port: int, run_dir: Path) -> EmulatorProcess:
    """The Trello emulator with the app key and secret the services are given."""
    args = ["--key", KEY, "--secret", SECRET, "--retry-delays", "0.2,0.5,1"]
    return EmulatorProcess("trello", port, run_dir, args)


def trello_env(emulator: EmulatorProcess) -> dict[str, str]:
    return {
        "TETHER_TRELLO_API_URL": f"{emulator.url}/1",
        "TETHER_TRELLO_API_KEY": KEY,
        "TETHER_TRELLO_API_SECRET": SECRET,
        "TETHER_TRELLO_RECONCILE_INTERVAL": "2",
        "TETHER_TRELLO_MAX_ATTEMPTS": "8",
    }


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, within: float = 30.0, what: str = "condition"
) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {within}s (last: {last!r})")


# The test looks at Trello with a token of its own, so its polling never eats the budget of
# the token Tether writes with (Trello's limits are per token).
OBSERVER_TOKEN = "observer-" + "0" * 55


async def add_observer(trello: httpx.AsyncClient) -> None:
    answer = await trello.post(
        "/_emulator/members",
        json={"username": "observer", "token": OBSERVER_TOKEN, "joinBoards": True},
    )
    answer.raise_for_status()


async def card_of(trello: httpx.AsyncClient, board_id: str) -> list[dict[str, Any]]:
    answer = await trello.get(
        f"/1/boards/{board_id}/cards", params={"key": KEY, "token": OBSERVER_TOKEN}
    )
    # The test reads with the sandbox token too, so under a tight limit it sees 429s as well:
    # an unreadable board reads as "nothing yet" and the caller polls again.
    return list(answer.json()) if answer.status_code == 200 else []


@dataclass
class TrelloWorld:
    """A running deployment connected to the emulator's Sandbox board."""

    deployment: Deployment
    api: httpx.AsyncClient  # the gateway, with a token
    trello: httpx.AsyncClient  # the emulator (Trello's API and its control API)
    board_id: str
    list_id: str  # the board's first list
    connection_id: str

    async def links(self, task_id: str) -> list[dict[str, Any]]:
        answer = await self.api.get(f"/v1/tasks/{task_id}/links")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def board_cards(self) -> list[dict[str, Any]]:
        """Every card on the board, archived ones too, read through the control API (so no
        token's rate limit is spent on looking)."""
        answer = await self.trello.get(f"/_emulator/boards/{self.board_id}/cards")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def holds(self) -> dict[str, Any]:
        return dict((await self.trello.get("/_emulator/holds")).json())

    async def export_new_task(self, **fields: Any) -> tuple[str, str]:
        created = await self.api.post("/v1/tasks", json={"title": "Plan the week", **fields})
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        exported = await self.api.post(
            f"/v1/tasks/{task_id}/exports",
            json={"connection_id": self.connection_id, "target": {"list_id": self.list_id}},
        )
        assert exported.status_code == 202, exported.text

        async def active() -> Any:
            links = (await self.api.get(f"/v1/tasks/{task_id}/links")).json()
            return links[0] if links and links[0]["status"] == "active" else None

        link = await eventually(active, what="the link to become active")
        return task_id, str(link["external_id"])

    async def task(self, task_id: str) -> dict[str, Any]:
        return dict((await self.api.get(f"/v1/tasks/{task_id}")).json())

    async def card(self, card_id: str) -> dict[str, Any]:
        cards = await card_of(self.trello, self.board_id)
        return next((c for c in cards if c["id"] == card_id), {})

    async def writes_to(self, card_id: str) -> int:
        log = (await self.trello.get("/_emulator/requests")).json()
        return sum(1 for r in log if r["method"] == "PUT" and card_id in r["path"])


@asynccontextmanager
async def connected_world(
    deployment: Deployment, emulator: EmulatorProcess, api_token: str
) -> AsyncIterator[TrelloWorld]:
    """Clients for a started deployment, with Trello connected through the gateway."""
    async with (
        httpx.AsyncClient(
            base_url=deployment.url("api-gateway"),
            timeout=30,
            headers={"Authorization": f"Bearer {api_token}"},
        ) as api,
        httpx.AsyncClient(base_url=emulator.url, timeout=30) as trello,
    ):
        await add_observer(trello)
        overview = (await trello.get("/_emulator")).json()
        board = next(b for b in overview["boards"] if b["name"] == "Sandbox")
        connected = await api.post(
            "/v1/connections", json={"provider": "trello", "token": "sandbox-token"}
        )
        assert connected.status_code == 201, connected.text
        yield TrelloWorld(
            deployment, api, trello, board["id"], board["lists"][0]["id"], connected.json()["id"]
        )


@asynccontextmanager
async def another_tenant(
    world: TrelloWorld, api_token: str, *, name: str
) -> AsyncIterator[TrelloWorld]:
    """Another tenant on ``world``'s deployment and emulator: its own Trello member and token,
    a board only that member (and the test's observer) can see, and a connection with that
    token made with ``api_token`` (a gateway token of the other tenant)."""
    trello = world.trello
    token = f"{name}-" + "0" * (63 - len(name))
    member = await trello.post(
        "/_emulator/members", json={"username": name, "token": token, "joinBoards": False}
    )
    member.raise_for_status()
    overview = (await trello.get("/_emulator")).json()
    observer = next(m["id"] for m in overview["members"] if OBSERVER_TOKEN in m["tokens"])
    board = await trello.post(
        "/_emulator/boards",
        json={"name": name.capitalize(), "members": [member.json()["id"], observer]},
    )
    board.raise_for_status()
    async with httpx.AsyncClient(
        base_url=world.deployment.url("api-gateway"),
        timeout=30,
        headers={"Authorization": f"Bearer {api_token}"},
    ) as api:
        connected = await api.post("/v1/connections", json={"provider": "trello", "token": token})
        assert connected.status_code == 201, connected.text
        yield TrelloWorld(
            world.deployment,
            api,
            trello,
            board.json()["id"],
            board.json()["lists"][0]["id"],
            connected.json()["id"],
        )
