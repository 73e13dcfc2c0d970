"""Jira end to end: the services as separate processes on real Kafka and PostgreSQL, the Jira
emulator as one more process, driven through the gateway, the emulator's "person in Jira"
controls, and nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.jira_world import (
    DONE,
    IN_REVIEW,
    MARKER,
    JiraWorld,
    is_write,
    member_connection,
)
from tests.e2e.world import core_has, eventually
from tether_devinfra.services import SERVICES
from tether_emulators.jira.emulator import SANDBOX_EMAIL

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 60.0


def jira_has(world: JiraWorld, issue_id: str, **values: Any) -> Callable[[], Awaitable[Any]]:
    """The issue once each of its ``fields`` named has the value given."""

    async def probe() -> Any:
        fields = (await world.issue(issue_id)).get("fields") or {}
        return fields if all(fields.get(k) == v for k, v in values.items()) else None

    return probe


def in_status(world: JiraWorld, issue_id: str, status: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        fields = (await world.issue(issue_id)).get("fields") or {}
        return fields if fields.get("status", {}).get("id") == status else None

    return probe


async def barrier(world: JiraWorld, task_id: str, issue_id: str, title: str = "Barrier") -> None:
    """A core edit after the others, awaited in Jira: a link's changes are handled in order
    (one partition per task), so once this one is in the issue, any echo of the edits before
    it would have been written already."""
    await world.edit_core(task_id, title=title)
    await eventually(jira_has(world, issue_id, summary=title), within=WITHIN, what="the barrier")


def adf_marks(document: dict[str, Any]) -> set[str]:
    """Every mark type used in an ADF document."""
    found: set[str] = set()
    for node in document.get("content") or []:
        found |= {m["type"] for m in node.get("marks") or []} | adf_marks(node)
    return found


async def test_an_administrator_gets_webhooks_a_member_polls_a_refused_token_is_a_400(
    jira_world: JiraWorld,
) -> None:
    world = jira_world
    assert world.delivery == "webhook"  # the sandbox user administers Jira
    member = await member_connection(world)
    assert member.delivery == "polling"
    assert member.connection_id != world.connection_id

    site = str(world.jira.base_url).rstrip("/")
    refused = await world.api.post(
        "/v1/connections",
        json={"provider": "jira", "site_url": site, "email": SANDBOX_EMAIL,
              "api_token": "not-the-token"},
    )  # fmt: skip
    assert refused.status_code == 400, refused.text
    reason = refused.json()["error"]["message"]
    assert reason.startswith("Jira rejected the credentials"), reason
    assert "Client must be authenticated" in reason  # Jira's own words, passed on
    listed = (await world.api.get("/v1/connections")).json()
    assert sorted(c["id"] for c in listed) == sorted([world.connection_id, member.connection_id])


async def test_export_makes_one_marked_issue_and_edits_flow_both_ways_without_echo(
    jira_world: JiraWorld,
) -> None:
    world = jira_world
    task_id, issue_id = await world.export_new_task(
        description="Who, **what**, when", due_date="2026-12-01"
    )
    [link] = await world.links(task_id)
    [made] = await world.project_issues()
    assert made["id"] == issue_id
    assert (made["fields"]["summary"], made["fields"]["duedate"]) == ("Plan the week", "2026-12-01")
    assert made["fields"]["description"]["type"] == "doc"
    assert "strong" in adf_marks(made["fields"]["description"])
    assert made["properties"][MARKER] == {"id": link["id"]}
    assert link["external_id"] == issue_id
    await world.flush_webhooks()  # our own create's delivery, an echo, is behind us
    writes = await world.writes_to(issue_id)
    version = (await world.task(task_id))["version"]

    # A person's edit in Jira reaches the core: one new version.
    await world.person_edits(issue_id, summary="Renamed in Jira")
    await eventually(core_has(world, task_id, title="Renamed in Jira"), within=WITHIN)
    assert (await world.task(task_id))["version"] == version + 1

    # A core edit reaches the issue.
    await world.edit_core(task_id, due_date="2027-01-15")
    await eventually(jira_has(world, issue_id, duedate="2027-01-15"), within=WITHIN)

    await barrier(world, task_id, issue_id)
    # The core edit and the barrier; the person's edit never came back to Jira.
    assert await world.writes_to(issue_id) == writes + 2
    assert (await world.task(task_id))["version"] == version + 3
    assert [i["id"] for i in await world.project_issues()] == [issue_id]


async def test_completion_walks_the_workflow_to_done_and_reopening_leaves_it(
    jira_world: JiraWorld,
) -> None:
    world = jira_world
    task_id, issue_id = await world.export_new_task()
    await world.flush_webhooks()
    version = (await world.task(task_id))["version"]

    await world.edit_core(task_id, completed=True)
    await eventually(in_status(world, issue_id, DONE), within=WITHIN, what="the issue Done")
    taken = [
        r
        for r in await world.requests()
        if r["method"] == "POST" and r["path"].endswith(f"/issue/{issue_id}/transitions")
    ]
    assert len(taken) == 3  # To Do -> In Progress -> In Review -> Done: no shortcut

    await world.edit_core(task_id, completed=False)

    async def reopened() -> Any:
        fields = (await world.issue(issue_id)).get("fields") or {}
        return fields if fields["status"]["statusCategory"]["key"] != "done" else None

    await eventually(reopened, within=WITHIN, what="the issue reopened")
    await barrier(world, task_id, issue_id)
    task = await world.task(task_id)
    # The walk's own transitions fired webhooks; none came back as a person's change.
    assert (task["completed"], task["version"]) == (False, version + 3)


async def test_a_polling_connections_jira_edit_reaches_the_core_through_reconciliation(
    jira_world: JiraWorld,
) -> None:
    world = await member_connection(jira_world)
    assert world.delivery == "polling"
    task_id, issue_id = await world.export_new_task(title="Polled")
    # The first pass has no watermark yet: it reads each linked issue once.
    await world.person_edits(issue_id, summary="Edited where no webhook listens")
    await eventually(
        core_has(world, task_id, title="Edited where no webhook listens"),
        within=WITHIN,
        what="reconciliation to bring the edit",
    )
    # Every later pass asks JQL what changed since its watermark.
    before = len(await world.requests())
    await world.person_edits(issue_id, duedate="2027-03-01")
    await eventually(
        core_has(world, task_id, due_date="2027-03-01"),
        within=WITHIN,
        what="a JQL pass to bring the second edit",
    )
    assert (await world.jira.get("/_emulator/webhooks")).json() == []
    searches = [r for r in (await world.requests())[before:] if r["path"].endswith("/search/jql")]
    assert searches, "reconciliation never asked JQL what changed"


async def test_a_repeated_delivery_is_taken_once_and_writes_nothing(
    jira_world: JiraWorld,
) -> None:
    world = jira_world
    task_id, issue_id = await world.export_new_task()
    await world.person_edits(issue_id, summary="Edited once")
    await eventually(core_has(world, task_id, title="Edited once"), within=WITHIN)
    await world.flush_webhooks()
    version = (await world.task(task_id))["version"]
    deliveries = (await world.jira.get("/_emulator/webhooks/deliveries")).json()
    delivered = [d for d in deliveries if d["status"] == "delivered"]
    assert any(d["event"] == "jira:issue_updated" for d in delivered), "nothing to repeat"
    before = await world.requests()
    spec = next(s for s in SERVICES if s.name == "jira-connector")
    duplicates = world.deployment.log_file(spec).read_text().count("webhook_duplicate")

    # Jira sends the same bytes again (it never heard our answer): taken as a duplicate.
    for delivery in delivered:
        again = await world.jira.post(f"/_emulator/webhooks/deliveries/{delivery['id']}/repeat")
        assert again.status_code == 200, again.text
    await world.flush_webhooks()
    repeats = (await world.jira.get("/_emulator/webhooks/deliveries")).json()[-len(delivered) :]
    assert [d["status"] for d in repeats] == ["delivered"] * len(delivered)
    log = world.deployment.log_file(spec).read_text()
    assert log.count("webhook_duplicate") == duplicates + len(delivered)

    await barrier(world, task_id, issue_id)
    after = (await world.requests())[len(before) :]
    writes = [r for r in after if is_write(r, issue_id)]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in writes] == [("PUT", issue_id)]
    assert (await world.task(task_id))["version"] == version + 1


async def test_a_done_the_workflow_cannot_reach_is_the_links_error_until_it_can(
    jira_world: JiraWorld,
) -> None:
    """An administrator lets only someone else take In Review -> Done: completing the task in
    core writes its title, walks the issue as far as it can go, and leaves the link active
    with the reason; once the condition is lifted, the task's next change completes the issue
    and clears the error. Nothing comes back to core as a person's edit."""
    world = jira_world
    task_id, issue_id = await world.export_new_task()
    await world.flush_webhooks()
    version = (await world.task(task_id))["version"]
    condition = f"/_emulator/projects/{world.project_key}/transitions/31/condition"
    restricted = await world.jira.put(condition, json={"account_ids": ["someone-else"]})
    assert restricted.status_code == 200, restricted.text

    await world.edit_core(task_id, completed=True, title="Ship it")

    async def refused() -> Any:
        link = await world.link_in(task_id, "active")()
        return link if link and link["error"] else None

    link = await eventually(refused, within=WITHIN, what="the link to say the walk was refused")
    assert "offers no way to" in link["error"], link["error"]
    await eventually(in_status(world, issue_id, IN_REVIEW), within=WITHIN)
    assert (await world.issue(issue_id))["fields"]["summary"] == "Ship it"
    task = await world.task(task_id)
    assert task["completed"] is True, "core keeps what the person asked for"

    lifted = await world.jira.put(condition, json={"account_ids": None})
    assert lifted.status_code == 200, lifted.text
    await world.edit_core(task_id, description="Ready to go")

    async def cleared() -> Any:
        link = await world.link_in(task_id, "active")()
        return link if link and link["error"] is None else None

    await eventually(cleared, within=WITHIN, what="the link's error to clear")
    await eventually(in_status(world, issue_id, DONE), within=WITHIN, what="the issue Done")
    await barrier(world, task_id, issue_id)
    task = await world.task(task_id)
    # Three edits in core; the walk's own transitions fired webhooks, none came back.
    assert (task["completed"], task["version"]) == (True, version + 3)
