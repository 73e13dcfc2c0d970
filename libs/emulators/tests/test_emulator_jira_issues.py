"""Projects, create metadata and issues: create (fields, ADF, due date, properties), read
(fields, properties), edit, delete, entity properties, and Jira's error bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

HELLO = {"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}
ADF = {"type": "doc", "version": 1, "content": [HELLO]}


def fields(**extra: Any) -> dict[str, Any]:
    return {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Write", **extra}


async def new_issue(jira: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    answer = await jira.post("/issue", json={"fields": fields(**extra)})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.usefixtures("jira_project")
async def test_project_search_pages_with_is_last(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    await jira_root.post("/_emulator/projects", json={"key": "OPS", "name": "Ops"})
    first = (await jira.get("/project/search", params={"maxResults": 1})).json()
    assert [p["key"] for p in first["values"]] == ["OPS"]
    assert first["isLast"] is False
    second = (await jira.get("/project/search", params={"startAt": 1, "maxResults": 1})).json()
    assert [p["key"] for p in second["values"]] == ["TEAM"]
    assert second["isLast"] is True


@pytest.mark.usefixtures("jira_project")
async def test_createmeta_lists_issue_types_under_issue_types(jira: httpx.AsyncClient) -> None:
    answer = (await jira.get("/issue/createmeta/TEAM/issuetypes")).json()
    assert [t["name"] for t in answer["issueTypes"]] == ["Task", "Bug"]
    assert (await jira.get("/issue/createmeta/NOPE/issuetypes")).status_code == 404


@pytest.mark.usefixtures("jira_project")
async def test_created_issue_reads_back_with_status_and_properties(jira: httpx.AsyncClient) -> None:
    created = await new_issue(jira, description=ADF, duedate="2024-06-01")
    body = {"fields": fields(), "properties": [{"key": "tether", "value": {"id": "t1"}}]}
    assert created["key"] == "TEAM-1"
    marked = (await jira.post("/issue", json=body)).json()
    issue = (await jira.get(f"/issue/{created['key']}")).json()
    assert issue["fields"]["description"] == ADF
    assert issue["fields"]["duedate"] == "2024-06-01"
    assert issue["fields"]["status"]["statusCategory"]["key"] == "new"
    assert issue["fields"]["updated"].endswith("+0000")
    read = (await jira.get(f"/issue/{marked['id']}", params={"properties": "tether"})).json()
    assert read["properties"] == {"tether": {"id": "t1"}}


@pytest.mark.usefixtures("jira_project")
async def test_summary_over_255_characters_is_refused_per_field(jira: httpx.AsyncClient) -> None:
    answer = await jira.post("/issue", json={"fields": fields(summary="x" * 256)})
    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [], "errors": {"summary": "Summary must be less than 255 characters."}
    }  # fmt: skip


@pytest.mark.usefixtures("jira_project")
@pytest.mark.parametrize(
    "description",
    [
        "plain text",
        {"type": "doc", "version": 2, "content": []},
        {"type": "doc", "version": 1, "content": [{"type": "blink"}]},
        {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "x", "marks": [{"type": "sparkle"}]}]}]},
    ],
)  # fmt: skip
async def test_invalid_adf_is_a_400_on_description(
    jira: httpx.AsyncClient, description: Any
) -> None:
    answer = await jira.post("/issue", json={"fields": fields(description=description)})
    assert answer.status_code == 400
    assert "description" in answer.json()["errors"]


@pytest.mark.usefixtures("jira_project")
async def test_bad_due_date_and_unknown_field_are_refused(jira: httpx.AsyncClient) -> None:
    answer = await jira.post("/issue", json={"fields": fields(duedate="01/06/2024", colour="red")})
    errors = answer.json()["errors"]
    assert answer.status_code == 400
    assert set(errors) == {"duedate", "colour"}


@pytest.mark.usefixtures("jira_project")
async def test_edit_changes_only_the_given_fields(jira: httpx.AsyncClient) -> None:
    key = (await new_issue(jira, duedate="2024-06-01"))["key"]
    answer = await jira.put(f"/issue/{key}", json={"fields": {"summary": "Renamed"}})
    assert answer.status_code == 204
    issue = (await jira.get(f"/issue/{key}", params={"fields": "summary,duedate"})).json()
    assert issue["fields"] == {"summary": "Renamed", "duedate": "2024-06-01"}


@pytest.mark.usefixtures("jira_project")
async def test_status_cannot_be_edited(jira: httpx.AsyncClient) -> None:
    key = (await new_issue(jira))["key"]
    answer = await jira.put(f"/issue/{key}", json={"fields": {"status": {"id": "10002"}}})
    assert answer.status_code == 400
    assert "status" in answer.json()["errors"]


@pytest.mark.usefixtures("jira_project")
async def test_deleted_issue_is_gone(jira: httpx.AsyncClient) -> None:
    key = (await new_issue(jira))["key"]
    assert (await jira.delete(f"/issue/{key}")).status_code == 204
    gone = await jira.get(f"/issue/{key}")
    assert gone.status_code == 404
    assert gone.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


@pytest.mark.usefixtures("jira_project")
async def test_entity_property_set_then_read(jira: httpx.AsyncClient) -> None:
    key = (await new_issue(jira))["key"]
    url = f"/issue/{key}/properties/tether"
    assert (await jira.get(url)).status_code == 404
    assert (await jira.put(url, json={"link": 7})).status_code == 201
    assert (await jira.put(url, json={"link": 8})).status_code == 200
    assert (await jira.get(url)).json() == {"key": "tether", "value": {"link": 8}}
