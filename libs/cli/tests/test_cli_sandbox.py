"""`make sandbox`: steps a newcomer can paste as printed, one connection however often the
account is connected again, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tether_cli.sandbox_steps import READY_LINE, list_variable, sandbox_steps
from tether_cli.sandbox_world import SandboxWorld

READY_TIMEOUT = 120.0
WORLD = SandboxWorld(
    tether_url="http://127.0.0.1:8000",
    emulator_url="http://127.0.0.1:9101",
    api_token="tth_token",
    emulator_key="sandbox-key",
    emulator_token="sandbox-token",
    connection_id="trello_0123",
    board_id="b" * 24,
    list_ids={"To do": "1" * 24, "Doing": "2" * 24, "Done": "3" * 24},
    task_id="a-task-id",
    card_id="c" * 24,
)


def pasted_block(steps: str) -> str:
    """The lines printed for pasting into a shell, as a person would copy them."""
    start = steps.index("Paste into a shell")
    end = steps.index("The emulator's state")
    return textwrap.dedent(steps[start:end].split("\n", 1)[1])


def test_the_printed_steps_fill_in_every_id_they_use() -> None:
    block = pasted_block(sandbox_steps(WORLD))
    # No placeholder left for the person to fill in.
    assert "<" not in block, block
    assert "..." not in block, block
    assigned = set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", block, re.MULTILINE))
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", block))
    assert used <= assigned, f"used but never set: {used - assigned}"
    for value in (WORLD.api_token, WORLD.connection_id, WORLD.task_id, WORLD.card_id):
        assert value in block
    for name, list_id in WORLD.list_ids.items():
        assert f"{list_variable(name)}={list_id}" in block
    # It shows the card itself, through the emulator's Trello API.
    assert '"$EMU/1/cards/$CARD?$TRELLO' in block
    parsed = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningSandbox:
    process: asyncio.subprocess.Process
    stderr: asyncio.Task[bytes]
    steps: str

    def value(self, name: str) -> str:
        found = re.search(rf"\b{name}=(\S+)", self.steps)
        assert found, f"{name} is not in the printed steps"
        return found.group(1).strip('"')


@asynccontextmanager
async def sandbox(cwd: Path, ports: dict[str, str]) -> AsyncIterator[RunningSandbox]:
    """The sandbox as `make sandbox` runs it, once its ready line is out; on leaving, stopped
    with SIGINT (Ctrl-C), which must end it at once, cleanly, with no traceback."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TETHER_")}
    env.update(ports)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tether_cli",
        "sandbox",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = asyncio.create_task(process.stderr.read())
    lines: list[str] = []
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while READY_LINE not in (line := (await process.stdout.readline()).decode()):
                assert line, f"the sandbox ended before it was ready:\n{''.join(lines)}"
                lines.append(line)
        yield RunningSandbox(process, stderr, "".join(lines))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 60)
        errors = (await stderr).decode()
    assert code in (0, 130), errors
    assert "Traceback" not in errors, errors


async def _connections(tether: str, token: str) -> list[str]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        answer = await api.get(f"{tether}/v1/connections")
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()]


async def _consent_again(running: RunningSandbox) -> str:
    """Connect the sandbox account through the consent flow, as a browser would."""
    tether, emulator = running.value("TETHER"), running.value("EMU")
    headers = {"Authorization": f"Bearer {running.value('TOKEN')}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        started = await client.get(
            f"{tether}/v1/connections/trello/authorize", params={"redirect": "false"}
        )
        assert started.status_code == 200, started.text
        query = parse_qs(urlsplit(started.json()["authorize_url"]).query)
        members = (await client.get(f"{emulator}/_emulator")).json()["members"]
        [sandbox_member] = [m["id"] for m in members if m["username"] == "sandbox"]
        consent = await client.post(
            f"{emulator}/_emulator/oauth/authorize",
            json={"oauth_token": query["oauth_token"][0], "member": sandbox_member},
        )
        assert consent.status_code == 200, consent.text
        landed = await client.get(consent.json()["redirect"])
    assert landed.status_code == 201, landed.text
    return str(landed.json()["id"])


async def test_sandbox_keeps_one_connection_across_consent_and_restart_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    ports = {
        "TETHER_PORT": str(_free_port()),
        "TETHER_SANDBOX_EMULATOR_PORT": str(_free_port()),
    }
    async with sandbox(tmp_path, ports) as first:
        connection = first.value("CONNECTION")
        # The card the steps name exists, as the "look at the card" step shows it.
        async with httpx.AsyncClient() as client:
            card = await client.get(
                f"{first.value('EMU')}/1/cards/{first.value('CARD')}",
                params={"key": "sandbox-key", "token": "sandbox-token"},
            )
        assert card.status_code == 200, card.text
        assert card.json()["name"] == "Try Tether"
        assert await _consent_again(first) == connection
        assert await _connections(first.value("TETHER"), first.value("TOKEN")) == [connection]
    # Same data directory: the restarted sandbox connects the same account again.
    async with sandbox(tmp_path, ports) as second:
        assert second.value("CONNECTION") == connection
        assert await _connections(second.value("TETHER"), second.value("TOKEN")) == [connection]


@pytest.mark.parametrize("taken", ["TETHER_PORT", "TETHER_SANDBOX_EMULATOR_PORT"])
def test_a_taken_port_is_one_line_naming_its_setting(tmp_path: Path, taken: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports = {
            "TETHER_PORT": str(_free_port()),
            "TETHER_SANDBOX_EMULATOR_PORT": str(_free_port()),
            taken: str(busy.getsockname()[1]),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
        ended = subprocess.run(
            [sys.executable, "-m", "tether_cli", "sandbox"],
            cwd=tmp_path,
            env={**env, **ports},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert ended.returncode == 1, ended.stderr
    assert taken in ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr
