"""The HTTP shapes of Asana's API (respx): the data envelope, Asana's error bodies turned
into the runtime's provider errors, Retry-After, pagination and the events API's 412."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from asana_connector.client import AsanaClient, SyncTokenExpired, asana_budgets, asana_limiter
from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)

API = "https://asana.test/api/1.0"
TOKEN = "secret-token-123"


def errors(message: str) -> dict[str, object]:
    return {"errors": [{"message": message, "help": "see the docs"}]}


@pytest.fixture
async def client() -> AsyncIterator[AsanaClient]:
    async with httpx.AsyncClient() as http:
        yield AsanaClient(http, api_url=API, token=TOKEN, limiter=asana_limiter())


@respx.mock
async def test_writes_are_wrapped_in_data_and_answers_unwrapped(client: AsanaClient) -> None:
    route = respx.post(f"{API}/tasks").respond(201, json={"data": {"gid": "5", "name": "x"}})
    answer = await client.call("POST", "/tasks", params={"opt_fields": "name"}, data={"name": "x"})
    assert answer == {"gid": "5", "name": "x"}
    sent = route.calls.last.request
    assert json.loads(sent.content) == {"data": {"name": "x"}}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.url.params["opt_fields"] == "name"


@respx.mock
async def test_401_means_the_token_is_refused(client: AsanaClient) -> None:
    respx.get(f"{API}/users/me").respond(401, json=errors("Not Authorized"))
    with pytest.raises(AuthRevokedError, match="Not Authorized"):
        await client.call("GET", "/users/me")


@respx.mock
@pytest.mark.parametrize("status", [400, 402, 403, 404])
async def test_other_4xx_are_permanent_with_asanas_message(
    client: AsanaClient, status: int
) -> None:
    respx.put(f"{API}/tasks/1").respond(status, json=errors("html_notes: XML is invalid"))
    with pytest.raises(PermanentProviderError) as raised:
        await client.call("PUT", "/tasks/1", data={"html_notes": "<p>"})
    assert not isinstance(raised.value, AuthRevokedError)
    assert raised.value.status == status
    assert "html_notes: XML is invalid" in str(raised.value)


@respx.mock
async def test_429_is_retryable_after_the_time_asana_asks(client: AsanaClient) -> None:
    respx.get(f"{API}/tasks/1").respond(
        429, json=errors("You've made too many requests"), headers={"Retry-After": "30"}
    )
    with pytest.raises(RetryableProviderError) as raised:
        await client.call("GET", "/tasks/1")
    assert raised.value.retry_after == 30
    assert raised.value.status == 429


@respx.mock
async def test_a_retry_after_holds_the_tokens_budgets() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    now = [0.0]
    # A manual clock: no test waits for real.
    limiter = RateLimiter(asana_budgets(), clock=lambda: now[0], sleep=sleep)
    respx.get(f"{API}/tasks/1").mock(
        side_effect=[
            httpx.Response(429, json=errors("slow down"), headers={"Retry-After": "12"}),
            httpx.Response(200, json={"data": {"gid": "1"}}),
        ]
    )
    async with httpx.AsyncClient() as http:
        client = AsanaClient(http, api_url=API, token=TOKEN, limiter=limiter)
        with pytest.raises(RetryableProviderError):
            await client.call("GET", "/tasks/1")
        assert await client.call("GET", "/tasks/1") == {"gid": "1"}
    assert waits == [12.0]


@respx.mock
@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_is_retryable(client: AsanaClient, status: int) -> None:
    respx.get(f"{API}/tasks/1").respond(status, json=errors("Server Error"))
    with pytest.raises(RetryableProviderError) as raised:
        await client.call("GET", "/tasks/1")
    assert raised.value.status == status


@respx.mock
async def test_network_trouble_is_retryable_and_never_shows_the_token(client: AsanaClient) -> None:
    respx.get(f"{API}/users/me").mock(side_effect=httpx.ConnectError(f"refused {TOKEN}"))
    with pytest.raises(RetryableProviderError) as raised:
        await client.call("GET", "/users/me")
    assert TOKEN not in str(raised.value)


@respx.mock
async def test_a_404_read_is_none(client: AsanaClient) -> None:
    respx.get(f"{API}/tasks/9").respond(404, json=errors("Unknown object: 9"))
    assert await client.maybe("/tasks/9") is None


@respx.mock
async def test_lists_are_read_page_after_page_with_the_offset_asana_hands_out(
    client: AsanaClient,
) -> None:
    route = respx.get(f"{API}/workspaces").mock(
        side_effect=[
            httpx.Response(
                200, json={"data": [{"gid": "1"}], "next_page": {"offset": "tok2", "path": "/x"}}
            ),
            httpx.Response(200, json={"data": [{"gid": "2"}], "next_page": None}),
        ]
    )
    assert [w["gid"] for w in await client.all("/workspaces")] == ["1", "2"]
    first, second = (call.request.url.params for call in route.calls)
    assert first["limit"] == "100"
    assert "offset" not in first
    assert second["offset"] == "tok2"
    assert second["limit"] == "100"


@respx.mock
async def test_events_412_hands_out_a_new_sync_token(client: AsanaClient) -> None:
    respx.get(f"{API}/events").respond(412, json={**errors("Sync token invalid"), "sync": "new"})
    with pytest.raises(SyncTokenExpired) as raised:
        await client.events("7", "old")
    assert raised.value.sync == "new"


@respx.mock
async def test_at_most_15_writes_are_in_flight_per_token(client: AsanaClient) -> None:
    gate, fifteen = asyncio.Event(), asyncio.Event()
    in_flight, most = [0], [0]

    async def answer(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        if in_flight[0] == 15:
            fifteen.set()
        await gate.wait()
        in_flight[0] -= 1
        return httpx.Response(200, json={"data": {}})

    respx.put(url__startswith=f"{API}/tasks/").mock(side_effect=answer)
    writes = [asyncio.create_task(client.call("PUT", f"/tasks/{i}", data={})) for i in range(20)]
    await fifteen.wait()
    for _ in range(20):  # every other write gets its turn to try to start
        await asyncio.sleep(0)
    assert in_flight[0] == 15
    gate.set()
    await asyncio.gather(*writes)
    assert most[0] == 15
