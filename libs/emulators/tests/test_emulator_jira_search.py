"""``POST /rest/api/3/search/jql``: the JQL subset, dates read in the caller's time zone,
ids only without ``fields``, token paging without ``total``, and unbounded JQL refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tether_emulators.common.testing import ManualClock
from tether_emulators.jira.testing import basic_auth


async def new_key(jira: httpx.AsyncClient, summary: str = "Find me", **body: Any) -> str:
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": summary}
    answer = await jira.post("/issue", json={"fields": fields, **body})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


async def search(jira: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await jira.post("/search/jql", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


@pytest.mark.usefixtures("jira_project")
async def test_without_fields_only_ids_and_no_total(jira: httpx.AsyncClient) -> None:
    await new_key(jira)
    found = await search(jira, jql="project = TEAM")
    assert list(found["issues"][0]) == ["id"]
    assert "total" not in found
    assert found["isLast"] is True


@pytest.mark.usefixtures("jira_project")
async def test_fields_pick_what_each_issue_shows(jira: httpx.AsyncClient) -> None:
    key = await new_key(jira)
    found = await search(jira, jql="project = TEAM", fields=["summary", "updated"])
    issue = found["issues"][0]
    assert issue["key"] == key
    assert set(issue["fields"]) == {"summary", "updated"}


@pytest.mark.usefixtures("jira_project")
async def test_next_page_token_pages_through(jira: httpx.AsyncClient) -> None:
    keys = [await new_key(jira, f"n{i}") for i in range(3)]
    first = await search(jira, jql="project = TEAM ORDER BY key", maxResults=2, fields=["summary"])
    assert first["isLast"] is False
    token = first["nextPageToken"]
    rest = await search(
        jira, jql="project = TEAM ORDER BY key", nextPageToken=token, fields=["summary"]
    )
    assert [i["key"] for i in first["issues"] + rest["issues"]] == keys
    assert rest["isLast"] is True
    assert "nextPageToken" not in rest


async def test_unbounded_jql_is_refused(jira: httpx.AsyncClient) -> None:
    answer = await jira.post("/search/jql", json={"jql": "ORDER BY updated DESC"})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    ]


@pytest.mark.usefixtures("jira_project")
async def test_updated_is_read_in_the_callers_time_zone(
    jira: httpx.AsyncClient,
    jira_root: httpx.AsyncClient,
    jira_as: Callable[[dict[str, str]], httpx.AsyncClient],
) -> None:
    # The clock starts at 2024-05-01 12:00 UTC: 08:00 in New York.
    key = await new_key(jira)
    user = {"displayName": "Ny", "timeZone": "America/New_York", "apiToken": "ny"}
    email = (await jira_root.post("/_emulator/users", json=user)).json()["emailAddress"]
    jql = 'project = TEAM AND updated >= "2024/05/01 09:00"'
    async with jira_as(basic_auth(email, "ny")) as new_york:
        assert (await search(new_york, jql=jql))["issues"] == []
        earlier = 'project = TEAM AND updated >= "2024/05/01 08:00"'
        assert len((await search(new_york, jql=earlier))["issues"]) == 1
    # For a UTC user, 09:00 is before the edit.
    assert len((await search(jira, jql=jql, fields=["key"]))["issues"]) == 1
    assert key


@pytest.mark.usefixtures("jira_project")
async def test_issue_property_clause_finds_the_marked_issue(jira: httpx.AsyncClient) -> None:
    await new_key(jira, "plain")
    marked = await new_key(jira, "marked", properties=[{"key": "tether", "value": {"id": "t9"}}])
    jql = 'project = TEAM AND issue.property[tether].id = "t9"'
    found = await search(jira, jql=jql, fields=["summary"])
    assert [i["key"] for i in found["issues"]] == [marked]


@pytest.mark.usefixtures("jira_project")
async def test_order_by_updated_puts_the_latest_edit_last(
    jira: httpx.AsyncClient, clock: ManualClock
) -> None:
    first, second = await new_key(jira, "a"), await new_key(jira, "b")
    clock.advance(60)
    await jira.put(f"/issue/{first}", json={"fields": {"summary": "a2"}})
    found = await search(jira, jql="project = TEAM ORDER BY updated ASC", fields=["summary"])
    assert [i["key"] for i in found["issues"]] == [second, first]


async def test_unknown_project_and_bad_date_are_400(jira: httpx.AsyncClient) -> None:
    answer = await jira.post("/search/jql", json={"jql": "project = NOPE"})
    assert answer.status_code == 400
    bad_date = await jira.post("/search/jql", json={"jql": 'updated >= "yesterday"'})
    assert bad_date.status_code == 400
