"""Completion through Jira's workflow, against the Jira emulator (To Do -> In Progress ->
In Review -> Done, Done -> To Do; no direct To Do -> Done): several hops, learnt once per
project and issue type, a stale map recovered from, and an unreachable kind refused plainly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from prometheus_client import REGISTRY

from jira_connector.client import JiraClient, basic_authorization, path
from jira_connector.transitions import (
    CACHE_NAME,
    Graph,
    Transition,
    Workflow,
    WorkflowMap,
    WorkflowUnreachable,
)
from tether_common.lru import BoundedCache
from tether_emulators.jira import JiraAccount, JiraEmulator, create_jira_emulator, get_emulator

EMAIL, TOKEN, SITE, KEY = "ada@example.com", "ada-api-token-0001", "http://jira.test", "OPS"


@pytest.fixture
async def jira() -> AsyncIterator[tuple[JiraClient, JiraEmulator]]:
    app = create_jira_emulator(accounts=[JiraAccount(EMAIL, TOKEN)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        made = await http.post(f"{SITE}/_emulator/projects", json={"key": KEY, "name": "Ops"})
        made.raise_for_status()
        client = JiraClient(
            http,
            api_url=f"{SITE}/rest/api/3",
            authorization=basic_authorization(EMAIL, TOKEN),
            secret=TOKEN,
            limiter=None,
        )
        yield client, get_emulator(app)


async def new_issue(client: JiraClient) -> tuple[str, tuple[str, str], str]:
    """A new issue: (id, scope, status id)."""
    types = (await client.call("GET", path("issue", "createmeta", KEY, "issuetypes")))["issueTypes"]
    fields = {"project": {"key": KEY}, "issuetype": {"id": types[0]["id"]}, "summary": "Ship"}
    made = await client.call("POST", "/issue", json={"fields": fields})
    issue = await client.call("GET", path("issue", made["id"]), params={"fields": "status"})
    return str(made["id"]), (KEY, str(types[0]["id"])), str(issue["fields"]["status"]["id"])


async def status_of(client: JiraClient, issue_id: str) -> dict[str, Any]:
    issue = await client.call("GET", path("issue", issue_id), params={"fields": "status"})
    return dict(issue["fields"]["status"])


def calls(emu: JiraEmulator, since: int) -> list[str]:
    return [f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in emu.requests.since(since)]


def last_seq(emu: JiraEmulator) -> int:
    return int(emu.requests[-1]["seq"]) if emu.requests else 0


async def test_done_is_reached_in_several_hops_then_planned_from_what_was_learnt(
    jira: tuple[JiraClient, JiraEmulator],
) -> None:
    client, emu = jira
    workflows = WorkflowMap()
    first, scope, start = await new_issue(client)
    reached = await Workflow(client, workflows).reach(first, scope, start, done=True)
    assert (await status_of(client, first))["statusCategory"]["key"] == "done"
    assert (await status_of(client, first))["id"] == reached

    second, _, start = await new_issue(client)
    before = last_seq(emu)
    await Workflow(client, workflows).reach(second, scope, start, done=True)
    # Planned over the learnt transitions: one call a hop, no reading.
    assert calls(emu, before) == ["POST transitions"] * 3
    assert (await status_of(client, second))["statusCategory"]["key"] == "done"

    before = last_seq(emu)
    await Workflow(client, workflows).reach(second, scope, reached, done=False)
    assert calls(emu, before) == ["GET transitions", "POST transitions"]
    assert (await status_of(client, second))["statusCategory"]["key"] == "new"  # Reopen


async def test_a_stale_map_is_forgotten_and_the_walk_goes_on_live(
    jira: tuple[JiraClient, JiraEmulator],
) -> None:
    client, _ = jira
    issue, scope, start = await new_issue(client)
    workflows = WorkflowMap()
    # What an earlier workflow offered: a direct transition that no longer exists.
    workflows.learn(scope, start, [Transition("999", "Done", "10003", "done")])
    await Workflow(client, workflows).reach(issue, scope, start, done=True)
    assert (await status_of(client, issue))["statusCategory"]["key"] == "done"
    assert "999" not in {t.id for ts in workflows.graph(scope).values() for t in ts}


class NoWayOut:
    """A workflow whose only transitions lead back to new statuses."""

    async def call(self, method: str, where: str, **_: Any) -> Any:
        assert (method, where) == ("GET", "/issue/1/transitions")
        to = {"id": "1", "statusCategory": {"key": "new"}}
        return {"transitions": [{"id": "5", "name": "Back", "to": to}]}


async def test_a_kind_the_workflow_cannot_reach_is_a_clear_refusal() -> None:
    workflow = Workflow(cast(JiraClient, NoWayOut()), WorkflowMap())
    with pytest.raises(WorkflowUnreachable) as refused:
        await workflow.reach("1", ("OPS", "10001"), "1", done=True)
    assert "offers no way to a done status from status 1" in str(refused.value)
    assert refused.value.status == 400


def cache_counts() -> tuple[float, float, float]:
    """(hits, misses, entries) of the workflows cache, as the metrics report them."""
    labels = {"cache": CACHE_NAME}
    return (
        REGISTRY.get_sample_value("tether_cache_hits_total", labels) or 0.0,
        REGISTRY.get_sample_value("tether_cache_misses_total", labels) or 0.0,
        REGISTRY.get_sample_value("tether_cache_entries", labels) or 0.0,
    )


async def test_walks_planned_from_the_cache_count_as_hits_and_reading_jira_as_misses(
    jira: tuple[JiraClient, JiraEmulator],
) -> None:
    client, _ = jira
    workflows = WorkflowMap("https://one.atlassian.net")
    hits, misses, entries = cache_counts()
    first, scope, start = await new_issue(client)
    # To Do -> In Progress -> In Review -> Done, each hop read from Jira: three misses.
    done = await Workflow(client, workflows).reach(first, scope, start, done=True)
    assert cache_counts() == (hits, misses + 3, entries + 1)

    second, _, start = await new_issue(client)
    await Workflow(client, workflows).reach(second, scope, start, done=True)
    assert cache_counts() == (hits + 3, misses + 3, entries + 1)  # planned: three hits

    # Nothing is known from Done yet: reopening reads Jira (a miss), then it is known.
    await Workflow(client, workflows).reach(second, scope, done, done=False)
    assert cache_counts() == (hits + 3, misses + 4, entries + 1)


async def test_a_refused_transition_drops_the_workflow_from_the_cache(
    jira: tuple[JiraClient, JiraEmulator],
) -> None:
    client, _ = jira
    issue, scope, start = await new_issue(client)
    workflows = WorkflowMap("https://two.atlassian.net")
    _, _, entries = cache_counts()
    workflows.learn(scope, start, [Transition("999", "Done", "10003", "done")])
    assert cache_counts()[2] == entries + 1
    refused = Workflow(client, workflows)
    # The stale transition is refused (400): the scope is forgotten, then relearnt live.
    await refused.reach(issue, scope, start, done=True)
    assert "999" not in {t.id for ts in workflows.graph(scope).values() for t in ts}
    assert (await status_of(client, issue))["statusCategory"]["key"] == "done"
    workflows.forget(scope)
    assert workflows.graph(scope) == {}
    assert cache_counts()[2] == entries


def test_the_cache_keeps_at_most_its_bound_dropping_the_least_recently_used() -> None:
    cache: BoundedCache[tuple[str, str, str], Graph] = BoundedCache(CACHE_NAME, 2)
    workflows = WorkflowMap("https://three.atlassian.net", cache)
    _, _, entries = cache_counts()
    step = [Transition("1", "Go", "2", "done")]
    workflows.learn(("A", "1"), "1", step)
    workflows.learn(("B", "1"), "1", step)
    assert workflows.graph(("A", "1"))  # A is now the most recently used
    workflows.learn(("C", "1"), "1", step)
    assert len(cache) == 2
    assert workflows.graph(("B", "1")) == {}  # B went, not A
    assert workflows.graph(("A", "1"))
    assert workflows.graph(("C", "1"))
    assert cache_counts()[2] == entries + 2
