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
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.crash_burst import assert_end_state, burst, converge, create_tasks, observe
from tests.e2e.trello_world import KEY, SECRET
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import free_port, wait_http

pytestmark = [pytest.mark.e2e]


@dataclass
class EmbeddedTether:
    """``tether run`` as a child process; its data lives in ``home`` (./.tether/ there)."""

    home: Path
    port: int
    emulator: EmulatorProcess
    token: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "tether.log"

    def env(self) -> dict[str, str]:
        # Everything else at its default, as for `make run`: the data files are relative to
        # the working directory.
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("TETHER_")},
            "TETHER_PORT": str(self.port),
            "TETHER_PUBLIC_URL": self.url,  # where the emulator delivers webhooks
            "TETHER_TRELLO_API_URL": f"{self.emulator.url}/1",
            "TETHER_TRELLO_API_KEY": KEY,
            "TETHER_TRELLO_API_SECRET": SECRET,
            "TETHER_TRELLO_RECONCILE_INTERVAL": "2",
            "TETHER_TRELLO_MAX_ATTEMPTS": "8",
        }

    def mint_token(self) -> str:
        """As the README says: ``tether token create`` beside ``make run``, same directory."""
        command = ["token", "create", "--tenant", "acme", "--email", "ada@example.com"]
        result = subprocess.run(
            [sys.executable, "-m", "tether_cli", *command],
            cwd=self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tether_cli", "run"],
                cwd=self.home,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_http(f"{self.url}/healthz", within=60, log=self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no last words."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    def reap(self) -> None:
        assert self.process is not None
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
