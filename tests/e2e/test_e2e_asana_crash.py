"""Exactly one Asana task per export, even when the connector dies (kill -9) between Asana's
create call and recording its result: for a personal access token (the marker is a link in
the task's ``html_notes``, found by searching the project) and for an OAuth connection (the
marker is the task's ``external`` field, read back as ``GET /tasks/external:<link id>``).

The emulator performs the create but withholds its answer (``/_emulator/holds``), so the task
exists while the connector still waits to hear of it; then the connector's process is killed.
Its export request was never acknowledged on Kafka, so the restarted connector gets it again,
and only the marker lets it find that task instead of making another.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.trello_world import eventually
from tether_emulators.asana.app import SANDBOX_APP

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 120.0  # generous: the restarted connector waits for Kafka to drop the dead consumer


class _ConsentForm(HTMLParser):
    """The hidden fields and the "Allow as <user>" buttons of Asana's consent page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.users: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found["value"]
        if tag == "button" and found.get("name") == "user":
            self.users.append(found["value"])


async def connect_by_consent(world: AsanaWorld) -> str:
    """Connect through Asana's consent page as a browser would; the new connection's id."""
    started = await world.api.get("/v1/connections/asana/authorize", params={"redirect": "false"})
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(started.json()["authorize_url"])
        assert page.status_code == 200, page.text
        form = _ConsentForm()
        form.feed(page.text)
        sandbox_user = await _sandbox_user(world)
        assert sandbox_user in form.users
        consent = await browser.post(
            str(page.url.copy_with(query=None)),
            data={**form.fields, "user": sandbox_user},
        )
        assert consent.status_code == 303, consent.text
    back = urlsplit(consent.headers["location"])
    assert back.path == "/v1/connections/asana/callback"
    # The browser returns to the gateway; the test's client stands in for it.
    done = await world.api.get(back.path, params=dict(parse_qsl(back.query)))
    assert done.status_code == 201, done.text
    return str(done.json()["id"])


async def _sandbox_user(world: AsanaWorld) -> str:
    overview = (await world.asana.get("/_emulator")).json()
    return str(next(u["gid"] for u in overview["users"] if world.token in u["tokens"]))


async def export_killed_after_create(world: AsanaWorld, connection_id: str) -> dict[str, Any]:
    """Export a task, kill the connector while Asana withholds the create's answer, restart
    it; the active link, once the export completed."""
    created = await world.api.post("/v1/tasks", json={"title": "Survive the crash"})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    held = await world.asana.post(
        "/_emulator/holds", json={"method": "POST", "path": "/api/1.0/tasks", "count": 1}
    )
    assert held.status_code == 200, held.text
    world.connection_id = connection_id
    link_id = await world.export(task_id)

    async def create_held() -> bool:
        return bool((await world.asana.get("/_emulator/holds")).json()["waiting"] == 1)

    await eventually(create_held, within=WITHIN, what="Asana withholding the create's answer")
    [made] = await world.project_tasks()
    assert made["name"] == "Survive the crash"

    world.deployment.kill("asana-connector")  # SIGKILL: no cleanup, no last words

    async def hung_up() -> bool:
        return bool((await world.asana.get("/_emulator/holds")).json()["abandoned"] == 1)

    await eventually(hung_up, what="the killed connector's connection to close")
    assert (await world.asana.delete("/_emulator/holds")).json() == {"disarmed": 0, "released": 0}
    assert [x["status"] for x in await world.links(task_id)] == ["pending"]

    await asyncio.to_thread(world.deployment.start_one, "asana-connector")
    link = await eventually(world.link_in(task_id, "active"), within=WITHIN)
    assert (link["id"], link["external_id"]) == (link_id, made["gid"])
    assert [t["gid"] for t in await world.project_tasks()] == [made["gid"]]

    # The adopted task is the live one: a core edit reaches it, and still no second task.
    edited = await world.api.patch(f"/v1/tasks/{task_id}", json={"title": "After the crash"})
    assert edited.status_code == 200, edited.text

    async def renamed() -> Any:
        tasks = await world.project_tasks()
        return tasks if any(t["name"] == "After the crash" for t in tasks) else None

    tasks = await eventually(renamed, within=WITHIN, what="the core edit on the task")
    assert [(t["gid"], t["trashed"]) for t in tasks] == [(made["gid"], False)]
    return {**link, "task": tasks[0]}


async def test_a_personal_access_token_export_killed_after_create_makes_one_task(
    asana_world: AsanaWorld,
) -> None:
    link = await export_killed_after_create(asana_world, asana_world.connection_id)
    assert f"https://tether.invalid/link/{link['id']}" in link["task"]["html_notes"]
    assert link["task"]["externals"] == {}  # a token cannot set ``external``


async def test_an_oauth_export_killed_after_create_makes_one_task(
    asana_world: AsanaWorld,
) -> None:
    connection_id = await connect_by_consent(asana_world)
    link = await export_killed_after_create(asana_world, connection_id)
    assert link["task"]["externals"] == {SANDBOX_APP.client_id: {"gid": link["id"], "data": None}}
    assert "tether.invalid" not in link["task"]["html_notes"]
