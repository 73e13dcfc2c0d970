"""The calls every adapter's client makes through ``ProviderHttp``: failed answers become the
runtime's provider errors in the provider's words, the wait a provider asks for travels with
them, and the credential never appears in a message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from tether_connector_runtime.provider_http import (
    ProviderHttp,
    budget_key,
    json_object,
    unless_missing,
)
from tether_connector_runtime.ratelimit import Budget, RateLimiter
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)

API = "https://provider.test/api"
SECRET = "s3cret-token-value"


def wording(response: httpx.Response) -> str:
    return str(json_object(response).get("message") or response.text[:50])


@pytest.fixture
async def calls() -> AsyncIterator[ProviderHttp]:
    limiter = RateLimiter({"all:": Budget(100, 10.0)})
    async with httpx.AsyncClient() as http:
        yield ProviderHttp(
            http=http,
            api_url=API + "/",
            name="Provider",
            headers={"Authorization": f"Bearer {SECRET}"},
            secret=SECRET,
            limiter=limiter,
            budgets=lambda method, path: (f"all:{budget_key(SECRET)}",),
            wording=wording,
        )


@respx.mock
async def test_an_answer_is_returned_with_the_credential_sent(calls: ProviderHttp) -> None:
    route = respx.get(f"{API}/items/1").respond(200, json={"id": 1})
    answer = await calls.checked("GET", "/items/1")
    assert answer.json() == {"id": 1}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {SECRET}"


@respx.mock
async def test_a_429_is_retryable_with_the_wait_it_asked_for(calls: ProviderHttp) -> None:
    respx.get(f"{API}/items").respond(429, headers={"Retry-After": "7"}, json={"message": "slow"})
    with pytest.raises(RetryableProviderError) as raised:
        await calls.checked("GET", "/items")
    assert (raised.value.status, raised.value.retry_after) == (429, 7.0)
    assert "Provider 429 on GET /items: slow" in str(raised.value)


@respx.mock
async def test_a_401_is_a_refused_grant_and_never_shows_the_secret(calls: ProviderHttp) -> None:
    respx.get(f"{API}/me").respond(401, json={"message": f"bad token {SECRET}"})
    with pytest.raises(AuthRevokedError) as raised:
        await calls.checked("GET", "/me")
    assert SECRET not in str(raised.value)
    assert str(raised.value) == "Provider refused the credentials: bad token [redacted]"


@respx.mock
async def test_another_4xx_is_permanent_and_5xx_or_no_answer_retryable(
    calls: ProviderHttp,
) -> None:
    respx.put(f"{API}/items/1").respond(400, text="nope")
    respx.get(f"{API}/items/2").respond(503)
    respx.get(f"{API}/items/3").mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(PermanentProviderError) as refused:
        await calls.checked("PUT", "/items/1")
    assert refused.value.status == 400
    assert not isinstance(refused.value, AuthRevokedError)
    with pytest.raises(RetryableProviderError):
        await calls.checked("GET", "/items/2")
    with pytest.raises(RetryableProviderError) as unreachable:
        await calls.checked("GET", "/items/3")
    assert str(unreachable.value).startswith("Provider unreachable")


@respx.mock
async def test_send_returns_a_failed_answer_for_the_caller_to_read(calls: ProviderHttp) -> None:
    respx.get(f"{API}/events").respond(412, json={"sync": "fresh"})
    answer = await calls.send("GET", "/events")
    assert answer.status_code == 412
    assert json_object(answer) == {"sync": "fresh"}
    assert json_object(httpx.Response(200, json=[1])) == {}


def test_budget_keys_are_stable_and_never_hold_the_secret() -> None:
    assert budget_key(SECRET) == budget_key(SECRET)
    assert budget_key(SECRET) != budget_key(SECRET + "x")
    assert SECRET[:6] not in budget_key(SECRET)


@respx.mock
async def test_unless_missing_is_none_for_a_404_and_raises_the_rest(calls: ProviderHttp) -> None:
    respx.get(f"{API}/items/gone").respond(404, json={"message": "no such item"})
    respx.get(f"{API}/items/locked").respond(403, json={"message": "forbidden"})
    assert await unless_missing(calls.checked("GET", "/items/gone")) is None
    with pytest.raises(PermanentProviderError) as refused:
        await unless_missing(calls.checked("GET", "/items/locked"))
    assert refused.value.status == 403
