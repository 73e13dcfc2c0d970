"""What every end-to-end world has in common, whatever the provider: a started deployment, the
gateway's client (with an API token), the provider emulator's client, and one connection.

The gateway's side (tasks, links, exports) and the emulator's control API (``/_emulator``:
request log, webhook flush, held answers) are the same for Trello, Asana and Jira, so they
live here once; each provider's world adds only what names its own things (boards, projects,
sections, issue types) and what counts as a write there.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from tether_devinfra.services import Deployment


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, within: float = 30.0, what: str = "condition"
) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {within}s (last: {last!r})")


@asynccontextmanager
async def gateway_client(
    deployment: Deployment, api_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``deployment``'s gateway that sends ``api_token`` (one tenant's)."""
    async with httpx.AsyncClient(
        base_url=deployment.url("api-gateway"),
        timeout=30,
        headers={"Authorization": f"Bearer {api_token}"},
    ) as api:
        yield api


@asynccontextmanager
async def world_clients(
    deployment: Deployment, emulator_url: str, api_token: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The gateway's client and the emulator's (its root: the provider's API and its control
    API), both open for the caller's block."""
    async with (
        gateway_client(deployment, api_token) as api,
        httpx.AsyncClient(base_url=emulator_url, timeout=30) as emulator,
    ):
        yield api, emulator


async def connect(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """Connect a provider through the gateway (``POST /v1/connections``); the connection."""
    connected = await api.post("/v1/connections", json=body)
    assert connected.status_code == 201, connected.text
    return dict(connected.json())


@dataclass
class ProviderWorld(abc.ABC):
    """A running deployment connected to one provider's emulator.

    A subclass names its ``provider`` (as links name it), the ``target`` of its exports and
    ``is_write`` (which logged call changed a given item), and adds its own fields after
    these (so it is built with keywords)."""

    provider: ClassVar[str]
    active_within: ClassVar[float] = 30.0  # how long an export may take to become active

    deployment: Deployment
    api: httpx.AsyncClient  # the gateway, with a token
    emulator: httpx.AsyncClient  # the emulator's root: the provider's API and its control API
    connection_id: str  # the connection exports go through

    @abc.abstractmethod
    def target(self) -> dict[str, Any]:
        """Where an export goes, as ``POST /v1/tasks/{id}/exports`` takes it."""

    @staticmethod
    @abc.abstractmethod
    def is_write(request: dict[str, Any], external_id: str) -> bool:
        """Whether a logged call (method, path, status) changed the item ``external_id``."""

    async def links(self, task_id: str) -> list[dict[str, Any]]:
        answer = await self.api.get(f"/v1/tasks/{task_id}/links")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def task(self, task_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/v1/tasks/{task_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def new_task(self, **fields: Any) -> str:
        """A task made in the core (titled "Plan the week" unless ``fields`` say otherwise)."""
        created = await self.api.post("/v1/tasks", json={"title": "Plan the week", **fields})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def edit_core(self, task_id: str, **fields: Any) -> None:
        edited = await self.api.patch(f"/v1/tasks/{task_id}", json=fields)
        assert edited.status_code == 200, edited.text

    async def export_to(self, task_id: str, target: dict[str, Any]) -> str:
        """Export ``task_id`` to ``target``; the link's id once accepted (202)."""
        exported = await self.api.post(
            f"/v1/tasks/{task_id}/exports",
            json={"connection_id": self.connection_id, "target": target},
        )
        assert exported.status_code == 202, exported.text
        return str(exported.json()["id"])

    async def export_new_task(self, **fields: Any) -> tuple[str, str]:
        """A new task exported to the world's ``target``: (task id, the provider's id of its
        copy) once the link is active."""
        task_id = await self.new_task(**fields)
        await self.export_to(task_id, self.target())
        link = await eventually(
            self.link_in(task_id, "active"),
            within=self.active_within,
            what=f"the {self.provider} link to be active",
        )
        return task_id, str(link["external_id"])

    def link_in(self, task_id: str, status: str) -> Callable[[], Awaitable[Any]]:
        """A probe: the task's link to this provider once it is in ``status``."""

        async def probe() -> Any:
            links = [x for x in await self.links(task_id) if x["provider"] == self.provider]
            return links[0] if links and links[0]["status"] == status else None

        return probe

    async def requests(self) -> list[dict[str, Any]]:
        """The API calls the emulator received (method, path, status), oldest first."""
        answer = await self.emulator.get("/_emulator/requests")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def writes_to(self, external_id: str) -> int:
        """How many calls the emulator received that changed the item ``external_id``."""
        return sum(1 for r in await self.requests() if self.is_write(r, external_id))

    async def flush_webhooks(self) -> None:
        """Return once every delivery in flight (retries included) has finished."""
        answer = await self.emulator.post("/_emulator/webhooks/flush")
        assert answer.status_code == 200, answer.text

    async def holds(self) -> dict[str, Any]:
        """The emulator's held answers: rules armed, calls ``waiting``, calls ``abandoned``."""
        return dict((await self.emulator.get("/_emulator/holds")).json())


def core_has(world: ProviderWorld, task_id: str, **values: Any) -> Callable[[], Awaitable[Any]]:
    """A probe: the core's task once it has every field of ``values``."""

    async def probe() -> Any:
        task = await world.task(task_id)
        return task if all(task.get(k) == v for k, v in values.items()) else None

    return probe
