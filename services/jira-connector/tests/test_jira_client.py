"""The Jira client against the Jira emulator, in memory: Basic auth on the site, Jira's
ErrorCollection as the runtime's provider errors in Jira's words (never the token), pages
through ``startAt``/``isLast``, and ``search/jql`` paged by ``nextPageToken``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from jira_connector.client import JiraClient, basic_authorization, jira_budgets, jira_limiter, path
from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_emulators.jira import JiraAccount, create_jira_emulator

EMAIL, TOKEN = "ada@example.com", "ada-api-token-0001"
SITE = "http://jira.test"


@pytest.fixture
def emulator() -> FastAPI:
    return create_jira_emulator(accounts=[JiraAccount(EMAIL, TOKEN, time_zone="Europe/Paris")])


@pytest.fixture
async def http(emulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as client:
        yield client


def client_for(http: httpx.AsyncClient, token: str = TOKEN) -> JiraClient:
    return JiraClient(
        http,
        api_url=f"{SITE}/rest/api/3",
        authorization=basic_authorization(EMAIL, token),
        secret=token,
        limiter=jira_limiter(),
    )


async def seed_projects(http: httpx.AsyncClient, count: int) -> list[str]:
    keys = [f"P{n:03d}" for n in range(count)]
    for key in keys:
        made = await http.post(f"{SITE}/_emulator/projects", json={"key": key, "name": key})
        made.raise_for_status()
    return keys


async def test_basic_auth_reads_the_user_and_a_wrong_token_is_refused_unnamed(
    http: httpx.AsyncClient,
) -> None:
    me = await client_for(http).call("GET", "/myself")
    assert (me["emailAddress"], me["timeZone"]) == (EMAIL, "Europe/Paris")
    wrong = "not-the-token-of-ada"
    with pytest.raises(AuthRevokedError) as refused:
        await client_for(http, wrong).call("GET", "/myself")
    assert refused.value.status == 401
    assert wrong not in str(refused.value)


async def test_a_refusal_carries_jiras_field_errors(http: httpx.AsyncClient) -> None:
    [key] = await seed_projects(http, 1)
    client = client_for(http)
    [issue_type] = [
        t
        async for t in client.pages(
            path("issue", "createmeta", key, "issuetypes"), key="issueTypes"
        )
    ][:1]
    fields = {
        "project": {"key": key},
        "issuetype": {"id": issue_type["id"]},
        "summary": "x" * 300,
    }
    with pytest.raises(PermanentProviderError) as refused:
        await client.call("POST", "/issue", json={"fields": fields})
    assert refused.value.status == 400
    assert "summary: Summary must be less than 255 characters." in str(refused.value)


async def test_pages_follow_start_at_until_the_last(http: httpx.AsyncClient) -> None:
    keys = await seed_projects(http, 57)  # more than one page of 50
    found = [p["key"] async for p in client_for(http).pages("/project/search")]
    assert sorted(k for k in found if k.startswith("P")) == keys


async def test_a_missing_issue_is_none_and_search_pages_by_token(http: httpx.AsyncClient) -> None:
    [key] = await seed_projects(http, 1)
    client = client_for(http)
    assert await client.maybe(path("issue", f"{key}-999")) is None
    types = [
        t
        async for t in client.pages(
            path("issue", "createmeta", key, "issuetypes"), key="issueTypes"
        )
    ]
    for n in range(55):
        fields = {"project": {"key": key}, "issuetype": {"id": types[0]["id"]}, "summary": f"#{n}"}
        await client.call("POST", "/issue", json={"fields": fields})
    seen: list[str] = []
    token: str | None = None
    while True:
        page = await client.search(f"project = {key} ORDER BY created ASC", "summary", token)
        seen += [issue["fields"]["summary"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == [f"#{n}" for n in range(55)]


def test_paths_are_escaped_segment_by_segment() -> None:
    assert path("issue", "KEY-1", "transitions") == "/issue/KEY-1/transitions"
    assert path("issue", "../myself") == "/issue/..%2Fmyself"


class Stopwatch:
    """A limiter's clock and sleep that move only when the limiter waits: how long calls were
    held, without waiting for it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def limited(answers: list[httpx.Response], watch: Stopwatch) -> JiraClient:
    replies = iter(answers)
    transport = httpx.MockTransport(lambda request: next(replies))
    limiter = RateLimiter(jira_budgets(), clock=watch.clock, sleep=watch.sleep)
    return JiraClient(
        httpx.AsyncClient(transport=transport),
        api_url=f"{SITE}/rest/api/3",
        authorization=basic_authorization(EMAIL, TOKEN),
        secret=TOKEN,
        limiter=limiter,
    )


@pytest.mark.parametrize(
    ("reason", "held"), [("jira-quota-global-based", 120.0), ("jira-burst-based", 0.0)]
)
async def test_a_quota_429_holds_every_call_of_the_credential(reason: str, held: float) -> None:
    watch = Stopwatch()
    refused = httpx.Response(
        429, headers={"RateLimit-Reason": reason, "X-RateLimit-Reset": "120"}, json={}
    )
    client = limited([refused, httpx.Response(204)], watch)
    with pytest.raises(RetryableProviderError):
        await client.call("GET", "/myself")
    # A write spends other budgets than the refused read: only a quota holds it too.
    await client.call("PUT", "/issue/10001", json={"fields": {}})
    assert watch.slept == pytest.approx(held)
