"""An end-to-end world with Trello: every service as a process, plus the Trello emulator as a
process of its own, wired together only through configuration, as an operator would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from tests.e2e.world import ProviderWorld, connect, gateway_client, world_clients
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import Deployment
from tether_emulators.trello.emulator import SANDBOX_TOKEN

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
class TrelloWorld(ProviderWorld):
    """A running deployment connected to the emulator's Sandbox board."""

    provider: ClassVar[str] = "trello"

    board_id: str
    list_id: str  # the board's first list

    @property
    def trello(self) -> httpx.AsyncClient:
        """The emulator (Trello's API and its control API)."""
        return self.emulator

    def target(self) -> dict[str, Any]:
        return {"list_id": self.list_id}

    @staticmethod
    def is_write(request: dict[str, Any], external_id: str) -> bool:
        """An update of the card: a ``PUT`` on a path naming it."""
        return bool(request["method"] == "PUT" and external_id in request["path"])

    async def board_cards(self) -> list[dict[str, Any]]:
        """Every card on the board, archived ones too, read through the control API (so no
        token's rate limit is spent on looking)."""
        answer = await self.trello.get(f"/_emulator/boards/{self.board_id}/cards")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def card(self, card_id: str) -> dict[str, Any]:
        cards = await card_of(self.trello, self.board_id)
        return next((c for c in cards if c["id"] == card_id), {})


@asynccontextmanager
async def connected_world(
    deployment: Deployment, emulator: EmulatorProcess, api_token: str
) -> AsyncIterator[TrelloWorld]:
    """Clients for a started deployment, with Trello connected through the gateway."""
    async with world_clients(deployment, emulator.url, api_token) as (api, trello):
        await add_observer(trello)
        overview = (await trello.get("/_emulator")).json()
        board = next(b for b in overview["boards"] if b["name"] == "Sandbox")
        connected = await connect(api, provider="trello", token=SANDBOX_TOKEN)
        yield TrelloWorld(
            deployment=deployment,
            api=api,
            emulator=trello,
            connection_id=connected["id"],
            board_id=board["id"],
            list_id=board["lists"][0]["id"],
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
    async with gateway_client(world.deployment, api_token) as api:
        connected = await connect(api, provider="trello", token=token)
        yield TrelloWorld(
            deployment=world.deployment,
            api=api,
            emulator=trello,
            connection_id=connected["id"],
            board_id=board.json()["id"],
            list_id=board.json()["lists"][0]["id"],
        )
