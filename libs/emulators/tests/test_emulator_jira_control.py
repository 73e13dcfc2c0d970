"""The control API: the overview, a person in Jira editing and deleting (webhooks fire as for
the API), outages of a project, reset, and the sandbox's seed across restarts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tether_emulators.jira import create_jira_emulator, get_emulator
from tether_emulators.jira.testing import JiraHookRecorder


async def test_overview_names_the_site_and_users(jira_root: httpx.AsyncClient) -> None:
    overview = (await jira_root.get("/_emulator")).json()
    assert overview["site"]["cloudId"]
    emails = [u["emailAddress"] for u in overview["users"]]
    assert "tether@example.com" in emails


@pytest.mark.usefixtures("jira_project")
async def test_person_edits_then_deletes(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    made = await jira_root.post(
        "/_emulator/issues", json={"project": "TEAM", "summary": "By hand", "description": "Hi"}
    )
    key = made.json()["key"]
    await jira_root.post(f"/_emulator/issues/{key}/edit", json={"fields": {"summary": "Edited"}})
    issue = (await jira.get(f"/issue/{key}")).json()
    assert issue["fields"]["summary"] == "Edited"
    assert issue["fields"]["description"]["type"] == "doc"
    assert (await jira_root.delete(f"/_emulator/issues/{key}")).status_code == 200
    assert (await jira.get(f"/issue/{key}")).status_code == 404


@pytest.mark.usefixtures("jira_project")
async def test_outage_of_a_project_refuses_its_requests_only(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    await jira_root.post("/_emulator/projects", json={"key": "OPS", "name": "Ops"})
    await jira_root.post("/_emulator/outages", json={"project_key": "TEAM", "status": 503})
    fields: dict[str, Any] = {"issuetype": {"name": "Task"}, "summary": "x"}
    down = await jira.post("/issue", json={"fields": {**fields, "project": {"key": "TEAM"}}})
    assert down.status_code == 503
    up = await jira.post("/issue", json={"fields": {**fields, "project": {"key": "OPS"}}})
    assert up.status_code == 201
    await jira_root.delete("/_emulator/outages")
    again = await jira.post("/issue", json={"fields": {**fields, "project": {"key": "TEAM"}}})
    assert again.status_code == 201


@pytest.mark.usefixtures("jira_project")
async def test_drop_next_loses_a_delivery(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient, jira_hooks: JiraHookRecorder
) -> None:
    admin = {"displayName": "Admin", "admin": True, "apiToken": "adm", "email": "a@x.test"}
    await jira_root.post("/_emulator/users", json=admin)
    hook = {"name": "h", "url": "https://tether.test/h", "events": ["jira:issue_created"]}
    headers = {"Authorization": "Basic YUB4LnRlc3Q6YWRt"}  # a@x.test:adm
    assert (
        await jira_root.post("/rest/webhooks/1.0/webhook", json=hook, headers=headers)
    ).status_code == 201
    await jira_root.post("/_emulator/webhooks/drop-next", params={"count": 1})
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "lost"}
    await jira.post("/issue", json={"fields": fields})
    await jira.post("/issue", json={"fields": {**fields, "summary": "kept"}})
    await jira_root.post("/_emulator/webhooks/flush")
    assert [d.json()["issue"]["fields"]["summary"] for d in jira_hooks.deliveries] == ["kept"]


@pytest.mark.usefixtures("jira_project")
async def test_reset_returns_to_the_start(jira_root: httpx.AsyncClient) -> None:
    await jira_root.post("/_emulator/reset")
    overview = (await jira_root.get("/_emulator")).json()
    assert overview["projects"] == []


async def test_a_restarted_sandbox_keeps_its_seed_and_never_reuses_an_issue_id() -> None:
    # Two runs of the sandbox, one second apart: a client still linked to the first run's
    # issue must not find a different issue of the second run under its id.
    start = datetime(2026, 5, 1, tzinfo=UTC)
    runs = [
        create_jira_emulator(sandbox=True, wall_clock=_stopped_at(at))
        for at in (start, start + timedelta(seconds=1))
    ]
    seeded = [get_emulator(app).sandbox_info for app in runs]
    assert seeded[0] is not None
    assert seeded[0] == seeded[1]
    assert seeded[0].issue_type_ids == {"Task": "10001", "Bug": "10002"}
    assert list(seeded[0].status_ids) == ["To Do", "In Progress", "In Review", "Done"]
    made: list[str] = []
    for app in runs:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://jira.test") as client:
            answer = await client.post(
                "/_emulator/issues", json={"project": seeded[0].project_key, "summary": "Try"}
            )
        assert answer.status_code == 200, answer.text
        made.append(answer.json()["id"])
    assert made[0] != made[1]
    assert all(ident.isdigit() for ident in made), made


def _stopped_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
