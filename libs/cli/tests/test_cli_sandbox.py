"""`make sandbox`: steps a newcomer can paste as printed, the sample task in Trello and Asana
at once with an edit in Asana reaching Tether and Trello, one connection per account however
often it is connected again, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tether_cli.sandbox_steps import READY_LINE, list_variable, sandbox_steps
from tether_cli.sandbox_world import Connected, SandboxAccount, SandboxWorld

# Hang guards only: each wait polls a state and ends as soon as it is reached.
READY_TIMEOUT = 120.0
SYNC_TIMEOUT = 120.0
WORLD = SandboxWorld(
    tether_url="http://127.0.0.1:8000",
    api_token="tth_token",
    task_id="a-task-id",
    trello=Connected(
        SandboxAccount(
            provider="trello",
            emulator_url="http://127.0.0.1:9101",
            token="sandbox-token",
            container_id="b" * 24,
            places={"To do": "1" * 24, "Doing": "2" * 24, "Done": "3" * 24},
            sample_target={"list_id": "1" * 24},
        ),
        connection_id="trello_0123",
        item_id="c" * 24,
    ),
    asana=Connected(
        SandboxAccount(
            provider="asana",
            emulator_url="http://127.0.0.1:9102",
            token="sandbox-asana-token",
            container_id="1208000000000004",
            places={"To do": "1208000000000005", "Done": "1208000000000007"},
            sample_target={"project_gid": "1208000000000004", "section_gid": "1208000000000005"},
        ),
        connection_id="asana_4567",
        item_id="1300000000000001",
    ),
)


def pasted_block(steps: str) -> str:
    """The lines printed for pasting into a shell, as a person would copy them."""
    start = steps.index("Paste into a shell")
    end = steps.index("The emulators' state")
    return textwrap.dedent(steps[start:end].split("\n", 1)[1])


def test_the_printed_steps_fill_in_every_id_they_use() -> None:
    block = pasted_block(sandbox_steps(WORLD))
    # No placeholder left for the person to fill in.
    assert "<" not in block, block
    assert "..." not in block, block
    assigned = set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", block, re.MULTILINE))
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", block))
    assert used <= assigned, f"used but never set: {used - assigned}"
    trello, asana = WORLD.trello, WORLD.asana
    for value in (WORLD.api_token, WORLD.task_id, trello.connection_id, trello.item_id):
        assert value in block
    for value in (asana.account.emulator_url, asana.account.token, asana.connection_id):
        assert value in block
    assert f"ASANA_TASK={asana.item_id}" in block
    for name, list_id in trello.account.places.items():
        assert f"{list_variable(name)}={list_id}" in block
    # It shows the card itself, through the emulator's Trello API, and the Asana task through
    # the other's Asana API, and edits that task as a person in Asana would.
    assert '"$EMU/1/cards/$CARD?$TRELLO' in block
    assert '"$ASANA/api/1.0/tasks/$ASANA_TASK?opt_fields=name,notes,completed"' in block
    assert '"$ASANA/_emulator/tasks/$ASANA_TASK/edit"' in block
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
    return sorted(item["id"] for item in answer.json())


T = TypeVar("T")


async def polled(read: Callable[[], Awaitable[T]], reached: Callable[[T], bool]) -> T:
    """``read()`` again until ``reached`` holds of its value: the sync runs in the sandbox's
    background tasks. The deadline only guards against a hang (generous: a busy machine)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SYNC_TIMEOUT
    while not reached(value := await read()):
        assert loop.time() < deadline, f"never reached; last: {value}"
        await asyncio.sleep(0.1)
    return value


async def _asana_part_syncs(running: RunningSandbox) -> None:
    """The sample task lives in Asana too, and an edit made there as a person reaches the
    task in Tether and its Trello card."""
    tether, asana, task = running.value("TETHER"), running.value("ASANA"), running.value("TASK")
    gid = running.value("ASANA_TASK")
    async with httpx.AsyncClient(timeout=30) as client:
        auth = {"Authorization": f"Bearer {running.value('TOKEN')}"}
        links = (await client.get(f"{tether}/v1/tasks/{task}/links", headers=auth)).json()
        [link] = [item for item in links if item["provider"] == "asana"]
        assert link["connection_id"] == running.value("ASANA_CONNECTION")
        assert (link["status"], link["external_id"]) == ("active", gid)
        # As the "look at the Asana task" step shows it, with the sandbox user's token.
        shown = await client.get(
            f"{asana}/api/1.0/tasks/{gid}",
            params={"opt_fields": "name,notes,completed"},
            headers={"Authorization": "Bearer sandbox-asana-token"},
        )
        assert shown.status_code == 200, shown.text
        assert (shown.json()["data"]["name"], shown.json()["data"]["completed"]) == (
            "Try Tether",
            False,
        )
        edited = await client.post(
            f"{asana}/_emulator/tasks/{gid}/edit", json={"name": "Edited in Asana"}
        )
        assert edited.status_code == 200, edited.text

        async def core_title() -> str:
            answer = await client.get(f"{tether}/v1/tasks/{task}", headers=auth)
            return str(answer.json()["title"])

        async def card_name() -> str:
            answer = await client.get(
                f"{running.value('EMU')}/1/cards/{running.value('CARD')}",
                params={"key": "sandbox-key", "token": "sandbox-token", "fields": "name"},
            )
            return str(answer.json()["name"])

        await polled(core_title, lambda title: title == "Edited in Asana")
        await polled(card_name, lambda name: name == "Edited in Asana")
        # Embedded mode answered Asana's handshake while its own create call was open: the
        # project's webhook exists, and the edit came by a delivery Tether took (2xx).
        hooks = (await client.get(f"{asana}/_emulator/webhooks")).json()
        [hook] = [h for h in hooks if h["active"]]
        assert hook["target"].startswith(f"{tether}/webhooks/asana/")
        assert (await client.post(f"{asana}/_emulator/webhooks/flush")).status_code == 200
        deliveries = (await client.get(f"{asana}/_emulator/webhooks/deliveries")).json()
        edits = [d for d in deliveries if any(e["action"] == "changed" for e in d["events"])]
        assert edits, deliveries
        assert all(d["status"] == "delivered" for d in edits), deliveries


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


async def test_sandbox_syncs_trello_and_asana_keeps_one_connection_each_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    ports = {
        "TETHER_PORT": str(_free_port()),
        "TETHER_SANDBOX_EMULATOR_PORT": str(_free_port()),
        "TETHER_SANDBOX_ASANA_EMULATOR_PORT": str(_free_port()),
    }
    async with sandbox(tmp_path, ports) as first:
        connections = sorted([first.value("CONNECTION"), first.value("ASANA_CONNECTION")])
        # The card the steps name exists, as the "look at the card" step shows it.
        async with httpx.AsyncClient() as client:
            card = await client.get(
                f"{first.value('EMU')}/1/cards/{first.value('CARD')}",
                params={"key": "sandbox-key", "token": "sandbox-token"},
            )
        assert card.status_code == 200, card.text
        assert card.json()["name"] == "Try Tether"
        await _asana_part_syncs(first)
        assert await _consent_again(first) == first.value("CONNECTION")
        assert await _connections(first.value("TETHER"), first.value("TOKEN")) == connections
    # Same data directory: the restarted sandbox connects the same accounts again, and its
    # fresh sample task gets an Asana task of its own (not the earlier run's gid).
    async with sandbox(tmp_path, ports) as second:
        again = sorted([second.value("CONNECTION"), second.value("ASANA_CONNECTION")])
        assert again == connections
        assert await _connections(second.value("TETHER"), second.value("TOKEN")) == connections
        assert second.value("ASANA_TASK") != first.value("ASANA_TASK")


@pytest.mark.parametrize(
    "taken",
    ["TETHER_PORT", "TETHER_SANDBOX_EMULATOR_PORT", "TETHER_SANDBOX_ASANA_EMULATOR_PORT"],
)
def test_a_taken_port_is_one_line_naming_its_setting(tmp_path: Path, taken: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports = {
            "TETHER_PORT": str(_free_port()),
            "TETHER_SANDBOX_EMULATOR_PORT": str(_free_port()),
            "TETHER_SANDBOX_ASANA_EMULATOR_PORT": str(_free_port()),
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
