"""Embedded mode survives ``kill -9`` mid-burst: nothing already answered is lost.

Tether runs exactly as ``make run`` starts it (``python -m tether_cli run``), one process
on SQLite files and the durable in-process bus in its working directory, pointed at the Trello
emulator (its own process). A burst of exports and renames is cut short by SIGKILL after half
of its requests were answered; the same command restarted over the same files must carry out
every answered export exactly once (one active link, one card) and bring every card to its
task's last answered title.

No Kafka or PostgreSQL here, so only the ``e2e`` marker (separate processes), not
``integration``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.crash_burst import assert_end_state, burst, converge, create_tasks, observe
from tests.e2e.embedded import EmbeddedTether
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import free_port

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def tether(tmp_path: Path, trello_emulator: EmulatorProcess) -> Iterator[EmbeddedTether]:
    home = tmp_path / "tether"
    home.mkdir()
    tether = EmbeddedTether(home, free_port(), trello_emulator)
    tether.token = tether.mint_token()
    try:
        tether.start()
        yield tether
    finally:
        tether.stop()


@pytest.fixture
async def clients(
    tether: EmbeddedTether, trello_emulator: EmulatorProcess
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(
            base_url=tether.url, timeout=30, headers={"Authorization": f"Bearer {tether.token}"}
        ) as api,
        httpx.AsyncClient(base_url=trello_emulator.url, timeout=30) as trello,
    ):
        yield api, trello


async def test_kill_9_mid_burst_loses_no_answered_export_or_edit(
    tether: EmbeddedTether, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    api, trello = clients
    overview = (await trello.get("/_emulator")).json()
    board = next(b for b in overview["boards"] if b["name"] == "Sandbox")
    connected = await api.post(
        "/v1/connections", json={"provider": "trello", "token": "sandbox-token"}
    )
    assert connected.status_code == 201, connected.text
    task_ids = await create_tasks(api)

    log = await burst(
        api,
        task_ids,
        connection_id=connected.json()["id"],
        list_id=board["lists"][0]["id"],
        kill=tether.kill,
    )
    await asyncio.to_thread(tether.reap)

    # The same command over the same files.
    await asyncio.to_thread(tether.start)
    seen = await converge(lambda: observe(api, trello, board["id"], task_ids), log, within=60)
    assert_end_state(log, seen)
