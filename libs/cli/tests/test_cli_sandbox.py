"""`make sandbox`: steps a newcomer can paste as printed, the sample task in Trello, Asana and
Jira at once with an edit in Asana reaching Tether and Trello, and an edit and a workflow walk
in Jira reaching Tether, Trello and Asana, one connection per account however often it is
connected again, and a clean stop on Ctrl-C."""

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
from typing import Any, TypeVar
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
    jira=Connected(
        SandboxAccount(
            provider="jira",
            emulator_url="http://127.0.0.1:9103",
            token="sandbox-jira-token",
            container_id="SAND",
            places={"To Do": "SAND:10000", "In Progress": "SAND:3", "Done": "SAND:10002"},
            sample_target={"project_key": "SAND", "issue_type_id": "10001"},
            credentials={
                "site_url": "http://127.0.0.1:9103",
                "email": "sandbox@tether.test",
                "api_token": "sandbox-jira-token",
            },
            mapped=False,
        ),
        connection_id="jira_89ab",
        item_id="92066311920103",
        item_key="SAND-1",
    ),
)
JIRA_USER = ("sandbox@tether.test", "sandbox-jira-token")
PORT_SETTINGS = [
    "TETHER_PORT",
    "TETHER_SANDBOX_EMULATOR_PORT",
    "TETHER_SANDBOX_ASANA_EMULATOR_PORT",
    "TETHER_SANDBOX_JIRA_EMULATOR_PORT",
]
# The printed variables naming the three connections.
CONNECTIONS = ("CONNECTION", "ASANA_CONNECTION", "JIRA_CONNECTION")


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
    # And the issue through the Jira emulator's API, edited and moved through its workflow as
    # a person in Jira would; a second task is exported to Jira's project as a Task.
    jira = WORLD.jira
    assert f"JIRA={jira.account.emulator_url}" in block
    assert f"JIRA_CONNECTION={jira.connection_id} ISSUE={jira.item_key}" in block
    assert 'JIRA_USER="sandbox@tether.test:sandbox-jira-token"' in block
    assert '-u "$JIRA_USER" "$JIRA/rest/api/3/issue/$ISSUE?' in block
    assert '"$JIRA/_emulator/issues/$ISSUE/edit"' in block
    assert block.count('"$JIRA/_emulator/issues/$ISSUE/transition"') == 3
    assert '\\"project_key\\": \\"SAND\\", \\"issue_type_id\\": \\"10001\\"' in block
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


@dataclass
class Sample:
    """The sample task as Tether's API and each emulator's provider API show it now, read
    with the credentials the printed steps use."""

    running: RunningSandbox
    client: httpx.AsyncClient

    async def _json(self, url: str, **kwargs: Any) -> Any:
        answer = await self.client.get(url, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def link(self, provider: str) -> dict[str, Any]:
        tether, task = self.running.value("TETHER"), self.running.value("TASK")
        links = await self._json(f"{tether}/v1/tasks/{task}/links", headers=self._auth())
        [link] = [item for item in links if item["provider"] == provider]
        return dict(link)

    async def task(self) -> dict[str, Any]:
        tether, task = self.running.value("TETHER"), self.running.value("TASK")
        return dict(await self._json(f"{tether}/v1/tasks/{task}", headers=self._auth()))

    async def card(self) -> dict[str, Any]:
        emu, card = self.running.value("EMU"), self.running.value("CARD")
        trello = {"key": "sandbox-key", "token": "sandbox-token", "fields": "name,idList"}
        return dict(await self._json(f"{emu}/1/cards/{card}", params=trello))

    async def asana_task(self) -> dict[str, Any]:
        asana, gid = self.running.value("ASANA"), self.running.value("ASANA_TASK")
        answer = await self._json(
            f"{asana}/api/1.0/tasks/{gid}",
            params={"opt_fields": "name,notes,completed"},
            headers={"Authorization": "Bearer sandbox-asana-token"},
        )
        return dict(answer["data"])

    async def issue(self) -> dict[str, Any]:
        jira, key = self.running.value("JIRA"), self.running.value("ISSUE")
        fields = {"fields": "summary,status"}
        return dict(
            await self._json(f"{jira}/rest/api/3/issue/{key}", params=fields, auth=JIRA_USER)
        )

    async def act(self, url: str, body: dict[str, Any]) -> None:
        """A control-API call: a person in Trello, Asana or Jira doing something."""
        answer = await self.client.post(url, json=body)
        assert answer.status_code == 200, answer.text

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.running.value('TOKEN')}"}


async def _asana_part_syncs(running: RunningSandbox) -> None:
    """The sample task lives in Asana too, and an edit made there as a person reaches the
    task in Tether and its Trello card."""
    tether, asana = running.value("TETHER"), running.value("ASANA")
    gid = running.value("ASANA_TASK")
    async with httpx.AsyncClient(timeout=30) as client:
        sample = Sample(running, client)
        link = await sample.link("asana")
        assert link["connection_id"] == running.value("ASANA_CONNECTION")
        assert (link["status"], link["external_id"]) == ("active", gid)
        # As the "look at the Asana task" step shows it, with the sandbox user's token.
        shown = await sample.asana_task()
        assert (shown["name"], shown["completed"]) == ("Try Tether", False)
        await sample.act(f"{asana}/_emulator/tasks/{gid}/edit", {"name": "Edited in Asana"})
        await polled(sample.task, lambda task: task["title"] == "Edited in Asana")
        await polled(sample.card, lambda card: card["name"] == "Edited in Asana")
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


async def _jira_part_syncs(running: RunningSandbox) -> str:
    """The sample task lives in Jira too, as an issue the connection watches with a signed
    admin webhook, and an edit made there as a person reaches the task in Tether, its Trello
    card and its Asana task; so does a walk through the workflow (``_jira_walk_syncs``). The
    issue's id."""
    tether, jira, key = running.value("TETHER"), running.value("JIRA"), running.value("ISSUE")
    async with httpx.AsyncClient(timeout=30) as client:
        sample = Sample(running, client)
        link = await sample.link("jira")
        assert link["connection_id"] == running.value("JIRA_CONNECTION")
        assert link["status"] == "active"
        # The Asana part's edit reached the issue too (and nothing is left in flight).
        issue = await polled(sample.issue, lambda i: i["fields"]["summary"] == "Edited in Asana")
        assert issue["id"] == link["external_id"]
        # The sandbox user administers Jira: an admin webhook, signed, calls Tether back.
        [hook] = (await client.get(f"{jira}/_emulator/webhooks")).json()
        assert (hook["kind"], hook["signed"]) == ("admin", True)
        assert hook["jqlFilter"] == "project = SAND"
        assert hook["url"].startswith(f"{tether}/webhooks/jira/")
        await sample.act(
            f"{jira}/_emulator/issues/{key}/edit", {"fields": {"summary": "Edited in Jira"}}
        )
        await polled(sample.task, lambda task: task["title"] == "Edited in Jira")
        await polled(sample.card, lambda card: card["name"] == "Edited in Jira")
        await polled(sample.asana_task, lambda task: task["name"] == "Edited in Jira")
        await _jira_walk_syncs(sample)
        # The person's changes came by deliveries Tether took (2xx).
        assert (await client.post(f"{jira}/_emulator/webhooks/flush")).status_code == 200
        deliveries = (await client.get(f"{jira}/_emulator/webhooks/deliveries")).json()
        assert all(d["status"] == "delivered" for d in deliveries), deliveries
        changes = {
            (item["field"], item["toString"])
            for d in deliveries
            for item in (d["payload"].get("changelog") or {}).get("items", [])
        }
        assert {("summary", "Edited in Jira"), ("status", "Done")} <= changes, changes
    return str(issue["id"])


async def _jira_walk_syncs(sample: Sample) -> None:
    """The issue moved through Jira's workflow to Done, one transition at a time as the steps
    do it (there is no direct one): the task is completed, the card in "Done", the Asana task
    completed. The card dragged back to "To do": Tether walks the issue back to To Do."""
    running = sample.running
    issue = f"{running.value('JIRA')}/_emulator/issues/{running.value('ISSUE')}"
    for status in ("In Progress", "In Review", "Done"):
        await sample.act(f"{issue}/transition", {"status": status})
    await polled(sample.task, lambda task: task["completed"] is True)
    await polled(sample.card, lambda card: card["idList"] == running.value("DONE"))
    await polled(sample.asana_task, lambda task: task["completed"] is True)
    card = f"{running.value('EMU')}/_emulator/cards/{running.value('CARD')}"
    await sample.act(f"{card}/edit", {"idList": running.value("TO_DO")})
    await polled(sample.task, lambda task: task["completed"] is False)
    await polled(sample.issue, lambda i: i["fields"]["status"]["name"] == "To Do")
    await polled(sample.asana_task, lambda task: task["completed"] is False)


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


async def test_sandbox_syncs_trello_asana_and_jira_keeps_one_connection_each_and_stops(
    tmp_path: Path,
) -> None:
    ports = {setting: str(_free_port()) for setting in PORT_SETTINGS}
    async with sandbox(tmp_path, ports) as first:
        connections = sorted(first.value(name) for name in CONNECTIONS)
        # The card and the issue the steps name exist, as the "look at" steps show them.
        async with httpx.AsyncClient() as client:
            sample = Sample(first, client)
            assert (await sample.card())["name"] == "Try Tether"
            issue = await sample.issue()
        assert (issue["key"], issue["fields"]["summary"]) == (first.value("ISSUE"), "Try Tether")
        await _asana_part_syncs(first)
        first_issue = await _jira_part_syncs(first)
        assert await _consent_again(first) == first.value("CONNECTION")
        assert await _connections(first.value("TETHER"), first.value("TOKEN")) == connections
    # Same data directory: the restarted sandbox connects the same accounts again, and its
    # fresh sample task gets an Asana task and a Jira issue of its own (not the earlier run's
    # gid or id), the Jira one watched by a webhook registered anew in the fresh emulator.
    async with sandbox(tmp_path, ports) as second:
        again = sorted(second.value(name) for name in CONNECTIONS)
        assert again == connections
        assert await _connections(second.value("TETHER"), second.value("TOKEN")) == connections
        assert second.value("ASANA_TASK") != first.value("ASANA_TASK")
        async with httpx.AsyncClient() as client:
            issue = await Sample(second, client).issue()
            hooks = (await client.get(f"{second.value('JIRA')}/_emulator/webhooks")).json()
        assert issue["id"] != first_issue
        assert [hook["kind"] for hook in hooks] == ["admin"]


@pytest.mark.parametrize("taken", PORT_SETTINGS)
def test_a_taken_port_is_one_line_naming_its_setting(tmp_path: Path, taken: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports = {setting: str(_free_port()) for setting in PORT_SETTINGS}
        ports[taken] = str(busy.getsockname()[1])
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
