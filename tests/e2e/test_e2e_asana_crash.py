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

from typing import Any

import pytest

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.connector_kill import WITHIN, hold, kill_connector, restart_connector, until_held
from tests.e2e.consent import connect_by_consent
from tests.e2e.world import eventually
from tether_emulators.asana.app import SANDBOX_APP

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def _sandbox_user(world: AsanaWorld) -> str:
    overview = (await world.asana.get("/_emulator")).json()
    return str(next(u["gid"] for u in overview["users"] if world.token in u["tokens"]))


async def export_killed_after_create(world: AsanaWorld, connection_id: str) -> dict[str, Any]:
    """Export a task, kill the connector while Asana withholds the create's answer, restart
    it; the active link, once the export completed."""
    task_id = await world.new_task(title="Survive the crash")
    await hold(world, "POST", "/api/1.0/tasks", count=1)
    world.connection_id = connection_id
    link_id = await world.export(task_id)

    await until_held(world, what="Asana withholding the create's answer")
    [made] = await world.project_tasks()
    assert made["name"] == "Survive the crash"

    await kill_connector(world)
    assert [x["status"] for x in await world.links(task_id)] == ["pending"]

    await restart_connector(world)
    link = await eventually(world.link_in(task_id, "active"), within=WITHIN)
    assert (link["id"], link["external_id"]) == (link_id, made["gid"])
    assert [t["gid"] for t in await world.project_tasks()] == [made["gid"]]

    # The adopted task is the live one: a core edit reaches it, and still no second task.
    await world.edit_core(task_id, title="After the crash")

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
    user = await _sandbox_user(asana_world)
    connection = await connect_by_consent(asana_world.api, "asana", button="user", user=user)
    connection_id = str(connection["id"])
    link = await export_killed_after_create(asana_world, connection_id)
    assert link["task"]["externals"] == {SANDBOX_APP.client_id: {"gid": link["id"], "data": None}}
    assert "tether.invalid" not in link["task"]["html_notes"]
