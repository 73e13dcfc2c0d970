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


@pytest.mark.usefixtures("jira_project")
async def test_a_transition_with_a_condition_is_hidden_from_and_refused_to_others(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    key = await new_key(jira)
    for target in ("In Progress", "In Review"):
        transition = (await open_transitions(jira, key))[target]
        await jira.post(f"/issue/{key}/transitions", json={"transition": {"id": transition}})
    # Only someone else may take "Done" (31) from now on.
    restricted = await jira_root.put(
        "/_emulator/projects/TEAM/transitions/31/condition", json={"account_ids": ["someone"]}
    )
    assert restricted.status_code == 200
    assert list(await open_transitions(jira, key)) == ["In Progress"]
    answer = await jira.post(f"/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == ["Transition id '31' is not valid for this issue."]

    lifted = await jira_root.put(
        "/_emulator/projects/TEAM/transitions/31/condition", json={"account_ids": None}
    )
    assert lifted.status_code == 200
    assert "Done" in await open_transitions(jira, key)
    unknown = await jira_root.put(
        "/_emulator/projects/TEAM/transitions/99/condition", json={"account_ids": []}
    )
    assert unknown.status_code == 404
