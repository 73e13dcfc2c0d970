"""Jira across a kill -9 of its connector, at the two moments where Jira has done something the
connector has not heard of yet:

- Exactly one issue per export, even when the connector dies between Jira's create and
  recording its result: the issue carries our entity property (``tether.link``) from the
  create on, and the restarted connector finds it by JQL instead of making another.
- An OAuth connection survives a crash in the middle of a refresh: Atlassian rotated the
  refresh token (the one we stored is spent) but its answer never arrived. The restarted
  connector offers the spent token again, which Atlassian honours within its 10-minute reuse
  leeway with the chain's newest token; the connection stays active and keeps working.

The emulator performs the call but withholds its answer (``/_emulator/holds``), so the effect
exists while the connector still waits; then the connector's process is killed. Its work was
never acknowledged on Kafka, so the restarted connector gets it again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.e2e.connector_kill import WITHIN, hold, kill_connector, restart_connector, until_held
from tests.e2e.consent import connect_by_consent
from tests.e2e.jira_world import MARKER, JiraWorld
from tests.e2e.world import eventually
from tether_emulators.jira.emulator import SANDBOX_EMAIL

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HOUR = 3600


async def connect_as_admin(world: JiraWorld) -> dict[str, Any]:
    """Connect through Atlassian's consent page as a browser would, consenting as the sandbox
    administrator; the new connection."""
    overview = (await world.jira.get("/_emulator")).json()
    admin = next(u["accountId"] for u in overview["users"] if u["emailAddress"] == SANDBOX_EMAIL)
    return await connect_by_consent(world.api, "jira", button="account_id", user=admin)


async def kill_while_held(world: JiraWorld, path: str) -> None:
    """Once Jira withholds the answer to ``path``, kill -9 the connector and see its
    connection close with the answer unread; the rule is spent, nothing is left to release."""
    await until_held(world, path=path, what=f"Jira withholding the answer to {path}")
    await kill_connector(world)


def titled(world: JiraWorld, issue_id: str, title: str) -> Any:
    async def probe() -> Any:
        issue = await world.issue(issue_id)
        return issue if issue.get("fields", {}).get("summary") == title else None

    return probe


async def test_an_export_killed_after_jiras_create_makes_exactly_one_issue(
    jira_world: JiraWorld,
) -> None:
    world = jira_world
    task_id = await world.new_task(title="Survive the crash")
    await hold(world, "POST", "/rest/api/3/issue")  # Jira creates it; its answer waits
    link_id = await world.export(task_id)

    await kill_while_held(world, "/rest/api/3/issue")
    [made] = await world.project_issues()
    assert made["fields"]["summary"] == "Survive the crash"
    assert made["properties"][MARKER] == {"id": link_id}  # the marker came with the create
    assert [x["status"] for x in await world.links(task_id)] == ["pending"]

    await restart_connector(world)
    link = await eventually(world.link_in(task_id, "active"), within=WITHIN)
    assert (link["id"], link["external_id"]) == (link_id, made["id"])
    assert [i["id"] for i in await world.project_issues()] == [made["id"]]

    # The adopted issue is the live one: a core edit reaches it, and still no second issue.
    await world.edit_core(task_id, title="After the crash")
    await eventually(titled(world, made["id"], "After the crash"), within=WITHIN)
    assert [i["id"] for i in await world.project_issues()] == [made["id"]]


async def test_an_oauth_connection_survives_a_crash_in_the_middle_of_a_refresh(
    jira_world: JiraWorld,
) -> None:
    connection = await connect_as_admin(jira_world)
    assert (connection["status"], connection["delivery"]) == ("active", "webhook")
    world = replace(jira_world, connection_id=connection["id"])
    task_id, issue_id = await world.export_new_task(title="Refreshed")

    # An hour on at Atlassian: the access token is refused, and the next call renews it.
    # Atlassian rotates the refresh token, but its answer never reaches the connector.
    await hold(world, "POST", "/oauth/token")
    advanced = await world.jira.post("/_emulator/clock/advance", json={"seconds": HOUR + 1})
    assert advanced.status_code == 200, advanced.text
    await world.edit_core(task_id, title="Written after the crash")
    await kill_while_held(world, "/oauth/token")

    # The connector stored only the spent refresh token; within the leeway it still works.
    await restart_connector(world)
    await eventually(titled(world, issue_id, "Written after the crash"), within=WITHIN)

    # What it stored then is the chain's live token: another hour on (past the leeway, where
    # the spent one would revoke the whole chain), it renews again and keeps writing.
    advanced = await world.jira.post("/_emulator/clock/advance", json={"seconds": HOUR + 1})
    assert advanced.status_code == 200, advanced.text
    await world.edit_core(task_id, title="Two hours on")
    await eventually(titled(world, issue_id, "Two hours on"), within=WITHIN)
    listed = (await world.api.get("/v1/connections")).json()
    mine = next(c for c in listed if c["id"] == world.connection_id)
    assert mine["status"] == "active", mine
    assert [i["id"] for i in await world.project_issues()] == [issue_id]
