"""An end-to-end world with Jira: every service as a process, plus the Jira emulator as a
process of its own, wired together only through configuration, as an operator would.

The emulator's root stands for the site (API tokens), Atlassian's API gateway and its OAuth
server (``TETHER_JIRA_API_URL`` / ``TETHER_JIRA_AUTH_URL``). The test looks at Jira through
the emulator's control API (``/_emulator``), which spends no limit and is not in the request
log, so the log holds exactly the calls the connector made.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import httpx

from tests.e2e.world import ProviderWorld, connect, world_clients
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import Deployment
from tether_emulators.jira.app import SANDBOX_APP
from tether_emulators.jira.emulator import SANDBOX_EMAIL, SANDBOX_PROJECT, SANDBOX_TOKEN

# The emulator's one workflow: To Do -> In Progress -> In Review -> Done (no shortcut to Done).
TO_DO, IN_REVIEW, DONE = "10000", "10001", "10002"
MARKER = "tether.link"


def jira_emulator_process(port: int, run_dir: Path) -> EmulatorProcess:
    """The Jira emulator with its seeded sandbox (an administrator with an API token, the
    Sandbox project, an OAuth app), retrying failed deliveries quickly."""
    return EmulatorProcess("jira", port, run_dir, ["--retry-delays", "0.2,0.5,1"])


def jira_env(emulator: EmulatorProcess) -> dict[str, str]:
    return {
        # The emulator's site is http://127.0.0.1:<port>: let API tokens be sent there.
        "TETHER_JIRA_SITE_HOSTS": json.dumps(["127.0.0.1"]),
        "TETHER_JIRA_API_URL": emulator.url,
        "TETHER_JIRA_AUTH_URL": emulator.url,
        "TETHER_JIRA_CLIENT_ID": SANDBOX_APP.client_id,
        "TETHER_JIRA_CLIENT_SECRET": SANDBOX_APP.client_secret,
        "TETHER_JIRA_RECONCILE_INTERVAL": "2",
        "TETHER_JIRA_MAX_ATTEMPTS": "8",
    }


def is_write(request: dict[str, Any], issue_id: str) -> bool:
    """A call that changes the issue: its fields (``PUT``), its status (a transition), its
    entity properties; reads and searches (``POST /search/jql``) are not writes."""
    path = str(request["path"])
    of_issue = path.endswith(f"/issue/{issue_id}") or f"/issue/{issue_id}/" in path
    return of_issue and request["method"] in ("PUT", "POST", "DELETE")


@dataclass
class JiraWorld(ProviderWorld):
    """A running deployment connected to the emulator's Sandbox project."""

    provider: ClassVar[str] = "jira"
    active_within: ClassVar[float] = 60.0

    project_key: str
    issue_type_id: str  # the project's Task type
    delivery: str  # the connection's: webhook (an administrator) or polling

    @property
    def jira(self) -> httpx.AsyncClient:
        """The emulator's root: Jira's API and its control API."""
        return self.emulator

    def target(self) -> dict[str, Any]:
        return {"project_key": self.project_key, "issue_type_id": self.issue_type_id}

    @staticmethod
    def is_write(request: dict[str, Any], external_id: str) -> bool:
        """A call that changes the issue (fields, transitions, properties)."""
        return is_write(request, external_id)

    async def project_issues(self) -> list[dict[str, Any]]:
        """Every issue of the project with its properties, as it really is in Jira."""
        answer = await self.jira.get(f"/_emulator/projects/{self.project_key}/issues")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def issue(self, issue_id: str) -> dict[str, Any]:
        return next((i for i in await self.project_issues() if i["id"] == issue_id), {})

    async def person_edits(self, issue_id: str, **fields: Any) -> None:
        """A person in Jira edits the issue (fields as ``PUT /issue`` takes them; a plain-text
        description is made ADF)."""
        edited = await self.jira.post(f"/_emulator/issues/{issue_id}/edit", json={"fields": fields})
        assert edited.status_code == 200, edited.text

    async def person_moves(self, issue_id: str, status: str) -> None:
        """A person in Jira takes the transition to the status named (one hop)."""
        moved = await self.jira.post(
            f"/_emulator/issues/{issue_id}/transition", json={"status": status}
        )
        assert moved.status_code == 200, moved.text

    async def export(self, task_id: str) -> str:
        """Export ``task_id`` to the project as a Task; the link's id once accepted (202)."""
        return await self.export_to(task_id, self.target())


async def member_connection(world: JiraWorld, name: str = "Member") -> JiraWorld:
    """``world`` as seen through another connection of the same tenant: the API token of a
    user without Administer Jira (polling, no webhook)."""
    member = await add_member(world.jira, name)
    site = str(world.jira.base_url).rstrip("/")
    answer = await connect(world.api, provider="jira", site_url=site, **member)
    return replace(world, connection_id=answer["id"], delivery=answer["delivery"])


async def add_member(jira: httpx.AsyncClient, name: str) -> dict[str, str]:
    """A user without Administer Jira, and the credentials Tether takes for them."""
    token = f"{name.lower()}-api-token-0001"
    user = await jira.post("/_emulator/users", json={"displayName": name, "apiToken": token})
    assert user.status_code == 200, user.text
    return {"email": str(user.json()["emailAddress"]), "api_token": token}


@asynccontextmanager
async def connected_jira_world(
    deployment: Deployment, emulator: EmulatorProcess, api_token: str, *, admin: bool = True
) -> AsyncIterator[JiraWorld]:
    """Clients for a started deployment, with Jira connected through the gateway by an API
    token: the sandbox administrator's (webhooks), or a member's (``admin=False``: polling)."""
    async with world_clients(deployment, emulator.url, api_token) as (api, jira):
        overview = (await jira.get("/_emulator")).json()
        project = next(p for p in overview["projects"] if p["key"] == SANDBOX_PROJECT)
        task_type = next(t["id"] for t in project["issueTypes"] if t["name"] == "Task")
        who = (
            {"email": SANDBOX_EMAIL, "api_token": SANDBOX_TOKEN}
            if admin
            else await add_member(jira, "Member")
        )
        connected = await connect(api, provider="jira", site_url=emulator.url, **who)
        yield JiraWorld(
            deployment=deployment,
            api=api,
            emulator=jira,
            connection_id=connected["id"],
            project_key=SANDBOX_PROJECT,
            issue_type_id=str(task_type),
            delivery=connected["delivery"],
        )
