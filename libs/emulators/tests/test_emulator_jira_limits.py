"""Rate limits: the per-issue write limit (429 with Retry-After, X-RateLimit-* and
RateLimit-Reason), configurable through the control API, and windows crossed on the clock."""

from __future__ import annotations

import httpx
import pytest

from tether_emulators.common.testing import ManualClock


async def new_key(jira: httpx.AsyncClient) -> str:
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Busy"}
    return str((await jira.post("/issue", json={"fields": fields})).json()["key"])


@pytest.mark.usefixtures("jira_project")
async def test_twenty_first_write_to_one_issue_in_2_s_is_429(
    jira: httpx.AsyncClient, clock: ManualClock
) -> None:
    key, other = await new_key(jira), await new_key(jira)
    for n in range(20):
        answer = await jira.put(f"/issue/{key}", json={"fields": {"summary": f"s{n}"}})
        assert answer.status_code == 204
    refused = await jira.put(f"/issue/{key}", json={"fields": {"summary": "one more"}})
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["X-RateLimit-Limit"] == "20"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"].endswith("Z")
    # Another issue, and reads, are not held back.
    assert (await jira.put(f"/issue/{other}", json={"fields": {"summary": "x"}})).status_code == 204
    assert (await jira.get(f"/issue/{key}")).status_code == 200
    clock.advance(2)
    assert (
        await jira.put(f"/issue/{key}", json={"fields": {"summary": "later"}})
    ).status_code == 204


@pytest.mark.usefixtures("jira_project")
async def test_per_issue_limit_is_configurable(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient
) -> None:
    changed = await jira_root.post("/_emulator/rate-limits", json={"issue_writes": 1})
    assert changed.json()["issue_writes"] == 1
    key = await new_key(jira)
    assert (await jira.put(f"/issue/{key}", json={"fields": {"summary": "a"}})).status_code == 204
    refused = await jira.post(f"/issue/{key}/transitions", json={"transition": {"id": "11"}})
    assert refused.status_code == 429
