"""The workflow: transitions depend on the current status, there is no direct To Do -> Done,
and an unavailable transition is a 400."""

from __future__ import annotations

import httpx
import pytest


async def new_key(jira: httpx.AsyncClient) -> str:
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Flow"}
    return str((await jira.post("/issue", json={"fields": fields})).json()["key"])


async def open_transitions(jira: httpx.AsyncClient, key: str) -> dict[str, str]:
    """Target status name -> transition id."""
    answer = (await jira.get(f"/issue/{key}/transitions")).json()
    return {t["to"]["name"]: t["id"] for t in answer["transitions"]}


async def status_category(jira: httpx.AsyncClient, key: str) -> str:
    issue = (await jira.get(f"/issue/{key}", params={"fields": "status"})).json()
    return str(issue["fields"]["status"]["statusCategory"]["key"])


@pytest.mark.usefixtures("jira_project")
async def test_done_takes_several_hops(jira: httpx.AsyncClient) -> None:
    key = await new_key(jira)
    assert "Done" not in await open_transitions(jira, key)
    for target in ("In Progress", "In Review", "Done"):
        transition = (await open_transitions(jira, key))[target]
        answer = await jira.post(
            f"/issue/{key}/transitions", json={"transition": {"id": transition}}
        )
        assert answer.status_code == 204
    assert await status_category(jira, key) == "done"
    assert list(await open_transitions(jira, key)) == ["To Do"]


@pytest.mark.usefixtures("jira_project")
async def test_unavailable_transition_is_400(jira: httpx.AsyncClient) -> None:
    key = await new_key(jira)
    answer = await jira.post(f"/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == ["Transition id '31' is not valid for this issue."]
    assert await status_category(jira, key) == "new"


@pytest.mark.usefixtures("jira_project")
async def test_person_in_jira_transitions_by_status_name(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    key = await new_key(jira)
    moved = await jira_root.post(
        f"/_emulator/issues/{key}/transition", json={"status": "In Progress"}
    )
    assert moved.status_code == 200
    assert await status_category(jira, key) == "indeterminate"
