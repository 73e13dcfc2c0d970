"""What the sandbox sets up through Tether's own API before it hands over: each emulator's
account connected (the same connection on every start), Trello's lists and Asana's sections
mapped to done / not done, and one sample task exported to all three, a card in Trello, a task
in Asana and an issue in Jira, so every step it prints can name real ids."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

SAMPLE_TITLE = "Try Tether"
# The Trello and Asana emulators seed these places: Trello's board has these lists, Asana's
# project these sections (Jira's project has its workflow's statuses).
SAMPLE_PLACE = "To do"
DONE_PLACE = "Done"


class SandboxSetupFailed(Exception):
    """Tether did not do what the sandbox asked of it; the message says what and why."""


@dataclass(frozen=True)
class SandboxAccount:
    """An emulator's seeded sandbox account, in Tether's words."""

    provider: str  # "trello", "asana" or "jira"
    emulator_url: str
    token: str  # Trello's user token, Asana's PAT, Jira's API token
    container_id: str  # Trello's board, Asana's project, Jira's project key
    # Place name -> id: the board's lists, the project's sections, the Jira project's statuses.
    places: dict[str, str]
    sample_target: dict[str, str]  # where the sample task is exported
    # What POST /v1/connections takes besides the provider: {"token": token} when empty.
    credentials: dict[str, str] = field(default_factory=dict)
    # Whether the sandbox maps the places to done / not done (``done_mapping``). Jira's
    # statuses need no mapping: each says by its category whether it means done.
    mapped: bool = True

    def connection_body(self) -> dict[str, str]:
        return {"provider": self.provider, **(self.credentials or {"token": self.token})}


@dataclass(frozen=True)
class Connected:
    """An account as the sandbox connected it, and the sample task's item there."""

    account: SandboxAccount
    connection_id: str
    item_id: str  # Trello's card id, Asana's task gid, Jira's issue id
    item_key: str = ""  # Jira's issue key (SAND-1): what people call it


@dataclass(frozen=True)
class SandboxWorld:
    """Everything the printed steps refer to."""

    tether_url: str
    api_token: str
    task_id: str
    trello: Connected
    asana: Connected
    jira: Connected


def done_mapping(places: dict[str, str]) -> dict[str, str]:
    """Place id -> meaning for a sandbox board or project: "Done" is done, every other place
    is not. ``places``: name -> id."""
    return {
        place_id: "done" if name == DONE_PLACE else "not_done" for name, place_id in places.items()
    }


def _checked(answer: httpx.Response, doing: str) -> Any:
    if answer.is_error:
        raise SandboxSetupFailed(f"{doing}: {answer.status_code} {answer.text}")
    return answer.json()


async def connect(api: httpx.AsyncClient, account: SandboxAccount) -> str:
    """Connect an emulator's sandbox account and, unless it needs none, map its places with
    ``done_mapping``; the connection's id.

    Tether keys a connection by the provider account, so this repairs the connection made on
    an earlier start (same id) instead of adding a second one.
    """
    provider = account.provider
    connected = _checked(
        await api.post("/v1/connections", json=account.connection_body()),
        f"connecting the {provider} emulator's sandbox account",
    )
    connection_id: str = connected["id"]
    if not account.mapped:
        return connection_id
    # The Done place means done: moving an item there completes its task, and completing the
    # task moves its items there.
    _checked(
        await api.put(
            f"/v1/connections/{connection_id}/status-mapping",
            json={"places": done_mapping(account.places)},
        ),
        f"mapping the {provider} sandbox's places",
    )
    return connection_id


async def connect_and_export(
    api: httpx.AsyncClient, task_id: str, account: SandboxAccount
) -> Connected:
    """Connect ``account`` and export the task to its sample target, once the link is active."""
    connection_id = await connect(api, account)
    item_id = await export(api, task_id, connection_id, account.sample_target)
    return Connected(account, connection_id, item_id)


async def with_issue_key(jira: Connected) -> Connected:
    """The Jira part with its issue's key (the link knows the issue by its id), as Jira's API
    answers the sandbox's user."""
    account = jira.account
    auth = (account.credentials["email"], account.token)
    async with httpx.AsyncClient(base_url=account.emulator_url, auth=auth, timeout=30) as site:
        answer = await site.get(f"/rest/api/3/issue/{jira.item_id}", params={"fields": "summary"})
    issue = _checked(answer, "reading the sample issue in the Jira emulator")
    return replace(jira, item_key=str(issue["key"]))


async def create_sample_task(api: httpx.AsyncClient) -> str:
    """The sample task's id. The emulators keep their items in memory only, so every start
    makes a fresh sample task and exports it again."""
    task = _checked(
        await api.post("/v1/tasks", json={"title": SAMPLE_TITLE}), "creating the sample task"
    )
    return str(task["id"])


async def export(
    api: httpx.AsyncClient,
    task_id: str,
    connection_id: str,
    target: dict[str, str],
    *,
    timeout: float = 60.0,
) -> str:
    """Export the task through ``connection_id`` to ``target``; the provider item's id once
    the link is active. Raises ``SandboxSetupFailed`` if the export fails or the link is not
    active within ``timeout`` seconds."""
    _checked(
        await api.post(
            f"/v1/tasks/{task_id}/exports",
            json={"connection_id": connection_id, "target": target},
        ),
        f"exporting the sample task through {connection_id}",
    )
    # The export goes through the bus and the connector: wait until the link is active.
    deadline = time.monotonic() + timeout
    while True:
        links = _checked(await api.get(f"/v1/tasks/{task_id}/links"), "reading the links")
        link = next((item for item in links if item["connection_id"] == connection_id), None)
        if link is not None and link["status"] == "active" and link["external_id"]:
            return str(link["external_id"])
        if link is not None and link["status"] == "failed":
            raise SandboxSetupFailed(f"exporting the sample task failed: {link['error']}")
        if time.monotonic() > deadline:
            state = "no link" if link is None else f"{link['status']} ({link['error']})"
            raise SandboxSetupFailed(
                f"the sample task's export through {connection_id} was not active after "
                f"{timeout:.0f} s: {state}"
            )
        await asyncio.sleep(0.1)
