"""Trello's two ways of presenting key and token, and its plain-text 401s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tether_emulators.trello.testing import CallbackRecorder

KEY = "sandbox-key"  # conftest's
TOKEN = "tether-token"


async def test_key_and_token_as_query_parameters(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/members/me", params={"key": KEY, "token": TOKEN})
    assert response.status_code == 200
    assert response.json()["id"] == "5e0000000000000000000001"


async def test_oauth_authorization_header(anonymous: httpx.AsyncClient) -> None:
    header = f'OAuth oauth_consumer_key="{KEY}", oauth_token="{TOKEN}"'
    response = await anonymous.get("/members/me", headers={"Authorization": header})
    assert response.status_code == 200


async def test_credentials_in_a_json_body(
    anonymous: httpx.AsyncClient, board: dict[str, Any]
) -> None:
    response = await anonymous.post(
        "/cards", json={"key": KEY, "token": TOKEN, "idList": board["lists"][0]["id"]}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "headers", "message"),
    [
        ({"key": "other-key", "token": TOKEN}, {}, "invalid key"),
        ({"token": TOKEN}, {}, "invalid key"),
        ({"key": KEY, "token": "forged"}, {}, "invalid token"),
        ({"key": KEY}, {}, "invalid token"),
        (
            {},
            {"Authorization": f'OAuth oauth_consumer_key="{KEY}", oauth_token="x"'},
            "invalid token",
        ),
        ({}, {"Authorization": f"Bearer {TOKEN}"}, "invalid key"),
    ],
)
async def test_rejections_are_plain_text_401s(
    anonymous: httpx.AsyncClient,
    params: dict[str, str],
    headers: dict[str, str],
    message: str,
) -> None:
    response = await anonymous.get("/members/me", params=params, headers=headers)
    assert (response.status_code, response.text) == (401, message)
    assert response.headers["content-type"].startswith("text/plain")


async def test_revoked_token_stops_working_and_loses_its_webhooks(
    client: httpx.AsyncClient,
    control: httpx.AsyncClient,
    board: dict[str, Any],
    recorder: CallbackRecorder,
) -> None:
    hook = await client.post(
        "/webhooks", params={"callbackURL": "http://tether.test/hooks", "idModel": board["id"]}
    )
    assert hook.status_code == 200
    revoked = await control.delete(f"/tokens/{TOKEN}")
    assert revoked.json()["deletedWebhooks"] == [hook.json()["id"]]
    response = await client.get("/members/me")
    assert (response.status_code, response.text) == (401, "invalid token")
    assert (await control.get("/webhooks")).json() == []
