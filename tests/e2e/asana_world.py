"""An end-to-end world with Asana: every service as a process, plus the Asana emulator as a
process of its own, wired together only through configuration, as an operator would.

The test looks at Asana through the emulator's control API (``/_emulator``), which spends no
token's quota and is not in the emulator's request log, so the log holds exactly the calls the
connector made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from tests.e2e.world import ProviderWorld, connect, world_clients
from tether_devinfra.emulators import EmulatorProcess
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
class AsanaWorld(ProviderWorld):
    """A running deployment connected to the emulator's Sandbox project."""

    provider: ClassVar[str] = "asana"

    token: str  # the personal access token Tether was connected with
    project_gid: str
    sections: dict[str, str]  # name -> gid

    @property
    def asana(self) -> httpx.AsyncClient:
        """The emulator's root: Asana's API and its control API."""
        return self.emulator

    def target(self, section: str = NOT_DONE) -> dict[str, Any]:
        return {"project_gid": self.project_gid, "section_gid": self.sections[section]}

    @staticmethod
    def is_write(request: dict[str, Any], external_id: str) -> bool:
        """An update of the task: ``PUT /tasks/{gid}``."""
        return bool(
            request["method"] == "PUT" and request["path"].endswith(f"/tasks/{external_id}")
        )

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
        return await self.export_to(task_id, self.target(section))


@asynccontextmanager
async def connected_asana_world(
    deployment: Deployment, emulator: EmulatorProcess, api_token: str
) -> AsyncIterator[AsanaWorld]:
    """Clients for a started deployment, with Asana connected through the gateway by the
    sandbox user's personal access token."""
    async with world_clients(deployment, emulator.url, api_token) as (api, asana):
        overview = (await asana.get("/_emulator")).json()
        # The sandbox user connects; "the person in Asana" (who has no token) edits by hand.
        token = next(u["tokens"][0] for u in overview["users"] if u["tokens"])
        project = next(p for p in overview["projects"] if p["name"] == "Sandbox")
        connected = await connect(api, provider="asana", token=token)
        yield AsanaWorld(
            deployment=deployment,
            api=api,
            emulator=asana,
            connection_id=connected["id"],
            token=token,
            project_gid=project["gid"],
            sections={s["name"]: s["gid"] for s in project["sections"]},
        )
