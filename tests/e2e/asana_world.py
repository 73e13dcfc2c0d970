"""An end-to-end world with Asana: every service as a process, plus the Asana emulator as a
process of its own, wired together only through configuration, as an operator would.

The test looks at Asana through the emulator's control API (``/_emulator``), which spends no
token's quota and is not in the emulator's request log, so the log holds exactly the calls the
connector made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.emulator_process import EmulatorProcess
from tests.e2e.trello_world import eventually
from tether_devinfra.services import Deployment
from tether_emulators.asana.app import SANDBOX_APP

# The sandbox project's sections, as the emulator seeds them.
NOT_DONE, DONE = "To do", "Done"


def asana_emulator_process(port: int, run_dir: Path) -> EmulatorProcess:
    """The Asana emulator with its seeded sandbox, retrying failed deliveries quickly."""
    return EmulatorProcess("asana", port, run_dir, ["--retry-delays", "0.2,0.5,1"])


def asana_env(emulator: EmulatorProcess) -> dict[str, str]:
    return {
        "TETHER_ASANA_API_URL": f"{emulator.url}/api/1.0",
        "TETHER_ASANA_OAUTH_URL": emulator.url,
        "TETHER_ASANA_CLIENT_ID": SANDBOX_APP.client_id,
        "TETHER_ASANA_CLIENT_SECRET": SANDBOX_APP.client_secret,
        "TETHER_ASANA_RECONCILE_INTERVAL": "2",
        "TETHER_ASANA_MAX_ATTEMPTS": "8",
    }


@dataclass
class AsanaWorld:
    """A running deployment connected to the emulator's Sandbox project."""

    deployment: Deployment
    api: httpx.AsyncClient  # the gateway, with a token
    asana: httpx.AsyncClient  # the emulator's root: Asana's API and its control API
    token: str  # the personal access token Tether was connected with
    project_gid: str
    sections: dict[str, str]  # name -> gid
    connection_id: str

    async def links(self, task_id: str) -> list[dict[str, Any]]:
        answer = await self.api.get(f"/v1/tasks/{task_id}/links")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def task(self, task_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/v1/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def project_tasks(self) -> list[dict[str, Any]]:
        """Every task in the project, trashed ones too, as it really is in Asana."""
        answer = await self.asana.get(f"/_emulator/projects/{self.project_gid}/tasks")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def asana_task(self, gid: str) -> dict[str, Any]:
        return next((t for t in await self.project_tasks() if t["gid"] == gid), {})

    async def person_edits(self, gid: str, **fields: Any) -> None:
        """A person in Asana edits the task (fields as Asana's API takes them)."""
        edited = await self.asana.post(f"/_emulator/tasks/{gid}/edit", json=fields)
        assert edited.status_code == 200, edited.text

    async def export(self, task_id: str, section: str = NOT_DONE) -> str:
        """Export ``task_id`` to the project; the link's id once accepted (202)."""
        exported = await self.api.post(
            f"/v1/tasks/{task_id}/exports",
            json={
                "connection_id": self.connection_id,
                "target": {"project_gid": self.project_gid, "section_gid": self.sections[section]},
            },
        )
        assert exported.status_code == 202, exported.text
        return str(exported.json()["id"])

    async def export_new_task(self, **fields: Any) -> tuple[str, str]:
        """A new task exported to the project: (task id, Asana task gid) once active."""
        created = await self.api.post("/v1/tasks", json={"title": "Plan the week", **fields})
        assert created.status_code == 201, created.text
        task_id = str(created.json()["id"])
        await self.export(task_id)
        link = await eventually(self.link_in(task_id, "active"), what="the link to be active")
        return task_id, str(link["external_id"])

    def link_in(self, task_id: str, status: str) -> Callable[[], Awaitable[Any]]:
        async def probe() -> Any:
            links = [x for x in await self.links(task_id) if x["provider"] == "asana"]
            return links[0] if links and links[0]["status"] == status else None

        return probe

    async def requests(self) -> list[dict[str, Any]]:
        """The API calls the emulator received (method, path, status), oldest first."""
        answer = await self.asana.get("/_emulator/requests")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def writes_to(self, gid: str) -> int:
        """How many updates (``PUT /tasks/{gid}``) the task received through the API."""
        return sum(
            1
            for r in await self.requests()
            if r["method"] == "PUT" and r["path"].endswith(f"/tasks/{gid}")
        )

    async def flush_webhooks(self) -> None:
        """Return once every delivery in flight (retries included) has finished."""
        answer = await self.asana.post("/_emulator/webhooks/flush")
        assert answer.status_code == 200, answer.text


@asynccontextmanager
async def connected_asana_world(
    deployment: Deployment, emulator: EmulatorProcess, api_token: str
) -> AsyncIterator[AsanaWorld]:
    """Clients for a started deployment, with Asana connected through the gateway by the
    sandbox user's personal access token."""
    async with (
        httpx.AsyncClient(
            base_url=deployment.url("api-gateway"),
            timeout=30,
            headers={"Authorization": f"Bearer {api_token}"},
        ) as api,
        httpx.AsyncClient(base_url=emulator.url, timeout=30) as asana,
    ):
        overview = (await asana.get("/_emulator")).json()
        # The sandbox user connects; "the person in Asana" (who has no token) edits by hand.
        token = next(u["tokens"][0] for u in overview["users"] if u["tokens"])
        project = next(p for p in overview["projects"] if p["name"] == "Sandbox")
        connected = await api.post("/v1/connections", json={"provider": "asana", "token": token})
        assert connected.status_code == 201, connected.text
        yield AsanaWorld(
            deployment,
            api,
            asana,
            token,
            project["gid"],
            {s["name"]: s["gid"] for s in project["sections"]},
            connected.json()["id"],
        )
