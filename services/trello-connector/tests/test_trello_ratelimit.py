"""The Trello client's rate limiting: it listens to what Trello says is left, honours
Retry-After, pauses the budget a 429 names, and shrugs off headers it cannot read.

Time is the emulator's manual clock: the limiter's waits advance it, so a wait of a window is
exact and instant, and the emulator's windows move with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx

from tether_connector_runtime.provider_http import budget_key
from tether_connector_runtime.ratelimit import RateLimiter
from tether_connector_runtime.retry import RetryableProviderError
from tether_emulators.trello import create_trello_emulator, get_emulator
from tether_emulators.trello.testing import ManualClock
from trello_connector.client import TRELLO_BUDGETS, TrelloClient, trello_budgets
from trello_connector.config import TrelloSettings

KEY = "sandbox-key"
TOKEN = "a" * 64
OTHER_TOKEN = "b" * 64
ALIKE_TOKEN = "c" * 52 + "a" * 12  # ends as TOKEN does
MEMBER = "5e0000000000000000000001"
API = "http://trello.test/1"


class Time:
    """The limiter's clock and sleep, on the emulator's manual clock."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class Setup:
    time: Time
    limiter: RateLimiter
    http: httpx.AsyncClient

    def client(self, token: str = TOKEN) -> TrelloClient:
        return TrelloClient(self.http, api_url=API, key=KEY, token=token, limiter=self.limiter)


@pytest.fixture
def emulator_kwargs() -> dict[str, Any]:
    return {}


@pytest.fixture
async def setup(emulator_kwargs: dict[str, Any]) -> AsyncIterator[Setup]:
    clock = ManualClock()
    emulator = create_trello_emulator(
        api_key=KEY,
        tokens={TOKEN: MEMBER, OTHER_TOKEN: MEMBER, ALIKE_TOKEN: MEMBER},
        clock=clock,
        wall_clock=clock.now,
        **emulator_kwargs,
    )
    time = Time(clock)
    limiter = RateLimiter(TRELLO_BUDGETS, clock=clock, sleep=time.sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as http:
        yield Setup(time, limiter, http)
    await get_emulator(emulator).aclose()


async def board_id(s: Setup) -> str:
    created = await s.http.post(
        "http://trello.test/_emulator/boards",
        json={"name": "Work", "lists": ["To do"], "members": [MEMBER]},
    )
    return str(created.json()["id"])


async def statuses(s: Setup) -> list[int]:
    log = (await s.http.get("http://trello.test/_emulator/requests")).json()
    return [r["status"] for r in log]


@pytest.mark.parametrize("emulator_kwargs", [{"token_limit": 10}])
async def test_a_token_spent_elsewhere_makes_calls_wait_instead_of_earning_a_429(
    setup: Setup,
) -> None:
    board = await board_id(setup)
    # Another app of the user's spends 7 of the token's 10 calls in this window.
    for _ in range(7):
        other_app = await setup.http.get(
            f"{API}/boards/{board}/lists", params={"key": KEY, "token": TOKEN}
        )
        assert other_app.status_code == 200
    client = setup.client()
    for _ in range(5):
        await client.lists(board)
    # Our own budget (80 / 10 s) had room; Trello's headers said the token was spent after
    # the third call, so the fourth waited out the window rather than being refused.
    assert setup.time.slept == [pytest.approx(10.0)]
    assert 429 not in await statuses(setup)


@pytest.mark.parametrize("emulator_kwargs", [{"members_limit": 3}])
async def test_the_members_route_is_held_on_its_own_window(setup: Setup) -> None:
    board = await board_id(setup)
    client = setup.client()
    for _ in range(3):
        await client.me()
    await client.lists(board)  # other routes are not held by it
    assert setup.time.slept == []
    await client.me()
    assert setup.time.slept == [pytest.approx(900.0)]
    assert 429 not in await statuses(setup)


async def test_retry_after_on_any_answer_is_honoured() -> None:
    clock = ManualClock()
    time = Time(clock)
    limiter = RateLimiter(TRELLO_BUDGETS, clock=clock, sleep=time.sleep)
    async with respx.mock(base_url=API) as trello, httpx.AsyncClient() as http:
        trello.get("/members/me").mock(
            side_effect=[
                httpx.Response(503, text="overloaded", headers={"Retry-After": "7"}),
                httpx.Response(200, json={"id": MEMBER}),
            ]
        )
        client = TrelloClient(http, api_url=API, key=KEY, token=TOKEN, limiter=limiter)
        with pytest.raises(RetryableProviderError) as refused:
            await client.me()
        assert refused.value.retry_after == pytest.approx(7.0)
        assert await client.me() == {"id": MEMBER}
    assert time.slept == [pytest.approx(7.0)]


@pytest.mark.parametrize(
    ("body", "held", "free"),
    [
        ({"error": "API_KEY_LIMIT_EXCEEDED"}, "key:", "members:"),
        ({"error": "API_TOKEN_LIMIT_EXCEEDED"}, "token:", "key:"),
        (
            {"error": "RATE_LIMIT_EXCEEDED", "message": "Exceeded rate limit to /1/member"},
            "members:",
            "token:",
        ),
    ],
)
async def test_a_429_without_headers_pauses_the_budget_it_names(
    body: dict[str, str], held: str, free: str
) -> None:
    clock = ManualClock()
    time = Time(clock)
    limiter = RateLimiter(TRELLO_BUDGETS, clock=clock, sleep=time.sleep)
    async with respx.mock(base_url=API) as trello, httpx.AsyncClient() as http:
        trello.get("/members/me").mock(return_value=httpx.Response(429, json=body))
        client = TrelloClient(http, api_url=API, key=KEY, token=TOKEN, limiter=limiter)
        with pytest.raises(RetryableProviderError) as refused:
            await client.me()
    window = 900.0 if held == "members:" else 10.0
    assert refused.value.retry_after == pytest.approx(window)
    budgets = {
        "token:": f"token:{budget_key(TOKEN)}",
        "key:": f"key:{budget_key(KEY)}",
        "members:": f"members:{budget_key(TOKEN)}",
    }
    async with limiter.acquire(budgets[free]):
        pass
    assert time.slept == []
    async with limiter.acquire(budgets[held]):
        pass
    assert time.slept == [pytest.approx(window)]


async def test_headers_it_cannot_read_are_ignored() -> None:
    clock = ManualClock()
    time = Time(clock)
    limiter = RateLimiter(TRELLO_BUDGETS, clock=clock, sleep=time.sleep)
    garbled = {
        "x-rate-limit-api-token-remaining": "lots",
        "x-rate-limit-api-token-interval-ms": "-",
        "x-rate-limit-api-key-remaining": "-4",
        "x-rate-limit-member-remaining": "",
        "x-rate-limit-something-new": "0",
        "Retry-After": "soon",
    }
    async with respx.mock(base_url=API) as trello, httpx.AsyncClient() as http:
        trello.get("/members/me").mock(
            return_value=httpx.Response(200, json={"id": MEMBER}, headers=garbled)
        )
        client = TrelloClient(http, api_url=API, key=KEY, token=TOKEN, limiter=limiter)
        for _ in range(5):
            assert await client.me() == {"id": MEMBER}
    assert time.slept == []


async def test_tokens_that_end_alike_have_budgets_of_their_own(setup: Setup) -> None:
    """Each token spends its own budget, however alike two tokens look: a budget keyed by a
    piece of the token would let one person's work stall another's."""
    for _ in range(TRELLO_BUDGETS["token:"].limit):
        await setup.client().me()
    assert setup.time.slept == []
    await setup.client(ALIKE_TOKEN).me()
    assert setup.time.slept == [], "another token's calls do not wait for this one's budget"
    await setup.client().me()
    assert len(setup.time.slept) == 1, "the spent token's next call waits"


def test_a_tokens_budget_is_its_share_of_trellos_limit() -> None:
    assert trello_budgets()["token:"].limit == 80, "other apps share a person's token"
    assert trello_budgets(token_share=1.0)["token:"].limit == 100
    settings = TrelloSettings.model_validate({"token_share": 0.95})
    assert trello_budgets(settings.key_limit, settings.token_share)["token:"].limit == 95
    with pytest.raises(ValueError, match="less than or equal to 1"):
        TrelloSettings.model_validate({"token_share": 1.5})
