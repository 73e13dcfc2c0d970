"""Rate limits per token, per key and on /1/members/, with a clock the tests move by hand."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tether_emulators.trello.testing import ManualClock

KEY = "sandbox-key"  # conftest's
TOKEN = "tether-token"


@pytest.mark.parametrize("emulator_kwargs", [{"token_limit": 3}])
async def test_token_limit_and_window_reset(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    path = f"/boards/{board['id']}/lists"
    remaining = []
    for _ in range(3):
        response = await client.get(path)
        assert response.status_code == 200
        remaining.append(response.headers["x-rate-limit-api-token-remaining"])
    assert remaining == ["2", "1", "0"]

    refused = await client.get(path)
    assert refused.status_code == 429
    assert refused.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
    assert "retry-after" not in refused.headers
    assert refused.headers["x-rate-limit-api-token-interval-ms"] == "10000"
    assert refused.headers["x-rate-limit-api-token-max"] == "3"
    assert refused.headers["x-rate-limit-api-token-remaining"] == "0"

    clock.advance(9.9)
    assert (await client.get(path)).status_code == 429
    clock.advance(0.1)
    again = await client.get(path)
    assert again.status_code == 200
    assert again.headers["x-rate-limit-api-token-remaining"] == "2"


@pytest.mark.parametrize("emulator_kwargs", [{"token_limit": 3, "key_limit": 4}])
async def test_key_limit_spans_tokens(
    client: httpx.AsyncClient, control: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    other = (await control.post("/members", json={"username": "second"})).json()["token"]
    path = f"/boards/{board['id']}"
    for _ in range(3):
        assert (await client.get(path)).status_code == 200
    assert (await client.get(path, params={"token": other})).status_code == 200
    refused = await client.get(path, params={"token": other})
    assert refused.status_code == 429
    assert refused.json()["error"] == "API_KEY_LIMIT_EXCEEDED"
    assert refused.headers["x-rate-limit-api-key-remaining"] == "0"
    assert refused.headers["x-rate-limit-api-key-max"] == "4"


@pytest.mark.parametrize("emulator_kwargs", [{"token_limit": 1}])
async def test_many_429s_block_the_key_for_the_window(
    client: httpx.AsyncClient, control: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    other = (await control.post("/members", json={"username": "second"})).json()["token"]
    path = f"/boards/{board['id']}"
    assert (await client.get(path)).status_code == 200
    for _ in range(201):
        assert (await client.get(path)).json()["error"] == "API_TOKEN_LIMIT_EXCEEDED"
    # More than 200 429s on the key: even a fresh token is refused until the window ends.
    blocked = await client.get(path, params={"token": other})
    assert blocked.json()["error"] == "API_KEY_LIMIT_EXCEEDED"
    clock.advance(10)
    assert (await client.get(path, params={"token": other})).status_code == 200


@pytest.mark.parametrize("emulator_kwargs", [{"members_limit": 2}])
async def test_members_routes_have_their_own_limit(
    client: httpx.AsyncClient, board: dict[str, Any], clock: ManualClock
) -> None:
    first = await client.get("/members/me")
    assert first.headers["x-rate-limit-member-remaining"] == "1"
    assert (await client.get("/members/me/boards")).status_code == 200
    refused = await client.get("/members/me")
    assert refused.status_code == 429
    assert refused.json()["error"] == "RATE_LIMIT_EXCEEDED"
    assert (await client.get(f"/boards/{board['id']}")).status_code == 200
    clock.advance(10)
    assert (await client.get("/members/me")).status_code == 429
    clock.advance(900)
    assert (await client.get("/members/me")).status_code == 200


async def test_headers_on_errors_too(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/cards/{'a' * 24}")
    assert response.status_code == 404
    assert response.headers["x-rate-limit-api-key-interval-ms"] == "10000"
    assert response.headers["x-rate-limit-api-key-max"] == "300"
    assert response.headers["x-rate-limit-api-key-remaining"] == "299"
    assert response.headers["x-rate-limit-api-token-remaining"] == "99"


@pytest.mark.parametrize("emulator_kwargs", [{"token_limit": 1}])
async def test_person_edits_bypass_limits(
    client: httpx.AsyncClient, control: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    card = (await client.post("/cards", params={"idList": board["lists"][0]["id"]})).json()
    assert (await client.get(f"/cards/{card['id']}")).status_code == 429
    edit = await control.post(f"/cards/{card['id']}/edit", json={"name": "by hand"})
    assert edit.status_code == 200
    assert edit.json()["card"]["name"] == "by hand"


async def test_limits_can_change_at_run_time(
    client: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    changed = await control.post("/rate-limits", json={"tokenLimit": 1, "windowSeconds": 2})
    assert changed.json()["tokenLimit"] == 1
    assert (await client.get("/members/me")).headers["x-rate-limit-api-token-interval-ms"] == "2000"
    assert (await client.get("/members/me")).status_code == 429
