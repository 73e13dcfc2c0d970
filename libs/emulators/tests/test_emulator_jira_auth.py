"""Basic auth with email and API token on the site, ``/myself``, and the OAuth 2.0 (3LO)
grant: consent, code exchange, rotating refresh tokens, accessible resources, and the API
under ``/ex/jira/{cloudId}`` for Bearer tokens."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tether_emulators.jira import OAuthApp
from tether_emulators.jira.testing import basic_auth, oauth_tokens

# The conftest's app and account (conftest.py, "the Jira emulator").
APP = OAuthApp("tether-jira-app", "tether-jira-secret", ("https://tether.test/callback",))
JIRA_EMAIL = "tether@example.com"
REDIRECT = APP.redirect_uris[0]


async def me(jira: httpx.AsyncClient) -> dict[str, Any]:
    answer = await jira.get("/myself")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def grant(root: httpx.AsyncClient, account_id: str, **extra: str) -> dict[str, Any]:
    return await oauth_tokens(
        root, account_id=account_id, client_id=APP.client_id,
        client_secret=APP.client_secret, redirect_uri=REDIRECT, **extra,
    )  # fmt: skip


async def refresh(root: httpx.AsyncClient, token: str) -> httpx.Response:
    return await root.post(
        "/oauth/token",
        json={"grant_type": "refresh_token", "client_id": APP.client_id,
              "client_secret": APP.client_secret, "refresh_token": token},
    )  # fmt: skip


async def test_myself_names_the_account_with_its_time_zone(jira: httpx.AsyncClient) -> None:
    body = await me(jira)
    assert body["emailAddress"] == JIRA_EMAIL
    assert body["timeZone"] == "UTC"
    assert body["accountId"]


async def test_wrong_api_token_is_401(jira_root: httpx.AsyncClient) -> None:
    answer = await jira_root.get(
        "/rest/api/3/myself", headers=basic_auth(JIRA_EMAIL, "not-the-token")
    )
    assert answer.status_code == 401
    missing = await jira_root.get("/rest/api/3/myself")
    assert missing.status_code == 401


async def test_seeded_user_time_zone_shows_in_myself(jira_root: httpx.AsyncClient) -> None:
    user = {"displayName": "Ny", "timeZone": "America/New_York", "apiToken": "ny-token"}
    seeded = (await jira_root.post("/_emulator/users", json=user)).json()
    answer = await jira_root.get(
        "/rest/api/3/myself", headers=basic_auth(seeded["emailAddress"], "ny-token")
    )
    assert answer.json()["timeZone"] == "America/New_York"


async def test_consent_page_redirects_with_code_and_state(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    params = {"audience": "api.atlassian.com", "client_id": APP.client_id,
              "scope": "read:jira-work offline_access", "redirect_uri": REDIRECT,
              "state": "s1", "response_type": "code", "prompt": "consent"}  # fmt: skip
    page = await jira_root.get("/authorize", params=params)
    assert page.status_code == 200
    assert "Accept as" in page.text
    account = (await me(jira))["accountId"]
    decision = await jira_root.post("/authorize", data={**params, "account_id": account})
    assert decision.status_code == 303
    query = parse_qs(urlsplit(decision.headers["location"]).query)
    assert query["state"] == ["s1"]
    assert query["code"]


async def test_access_token_reaches_the_api_under_the_cloud_id(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    tokens = await grant(jira_root, (await me(jira))["accountId"])
    assert tokens["expires_in"] == 3600
    assert tokens["token_type"] == "Bearer"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    sites = (await jira_root.get("/oauth/token/accessible-resources", headers=bearer)).json()
    cloud_id = sites[0]["id"]
    answer = await jira_root.get(f"/ex/jira/{cloud_id}/rest/api/3/myself", headers=bearer)
    assert answer.status_code == 200
    assert answer.json()["emailAddress"] == JIRA_EMAIL
    # A Bearer token is for the API gateway, not for the site.
    assert (await jira_root.get("/rest/api/3/myself", headers=bearer)).status_code == 401


async def test_access_token_expires_after_an_hour(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    tokens = await grant(jira_root, (await me(jira))["accountId"])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    await jira_root.post("/_emulator/clock/advance", json={"seconds": 3600})
    answer = await jira_root.get("/oauth/token/accessible-resources", headers=bearer)
    assert answer.status_code == 401


async def test_refresh_rotates_and_the_old_token_is_spent(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    first = await grant(jira_root, (await me(jira))["accountId"])
    second = (await refresh(jira_root, first["refresh_token"])).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = await refresh(jira_root, second["refresh_token"])
    assert third.status_code == 200


async def test_reuse_after_the_leeway_revokes_the_whole_chain(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    first = await grant(jira_root, (await me(jira))["accountId"])
    second = (await refresh(jira_root, first["refresh_token"])).json()
    await jira_root.post("/_emulator/clock/advance", json={"seconds": 601})
    replay = await refresh(jira_root, first["refresh_token"])
    assert replay.status_code == 403
    assert replay.json() == {
        "error": "invalid_grant", "error_description": "Unknown or invalid refresh token."
    }  # fmt: skip
    # The newest token of the chain died with it.
    assert (await refresh(jira_root, second["refresh_token"])).status_code == 403


async def test_reuse_within_the_leeway_is_forgiven(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    first = await grant(jira_root, (await me(jira))["accountId"])
    second = (await refresh(jira_root, first["refresh_token"])).json()
    await jira_root.post("/_emulator/clock/advance", json={"seconds": 599})
    again = await refresh(jira_root, first["refresh_token"])
    assert again.status_code == 200
    assert again.json()["refresh_token"] == second["refresh_token"]


async def test_a_refresh_whose_answer_is_held_has_rotated_and_is_forgiven_once_offered_again(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    first = await grant(jira_root, (await me(jira))["accountId"])
    held = await jira_root.post(
        "/_emulator/holds", json={"method": "POST", "path": "/oauth/token", "count": 1}
    )
    assert held.status_code == 200, held.text
    lost = asyncio.create_task(refresh(jira_root, first["refresh_token"]))
    while (await jira_root.get("/_emulator/holds")).json()["waiting"] == 0:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    # Atlassian rotated while the answer waits: the client offers the spent token again.
    again = await refresh(jira_root, first["refresh_token"])
    assert again.status_code == 200, again.text
    assert (await jira_root.delete("/_emulator/holds")).json() == {"disarmed": 0, "released": 1}
    assert (await lost).json()["refresh_token"] == again.json()["refresh_token"]


async def test_only_the_api_and_the_token_endpoint_can_be_held(
    jira_root: httpx.AsyncClient,
) -> None:
    control = await jira_root.post("/_emulator/holds", json={"method": "GET", "path": "/_emulator"})
    assert control.status_code == 400
    assert "/oauth/token" in control.json()["errorMessages"][0]


async def test_no_refresh_token_without_offline_access(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient
) -> None:
    tokens = await grant(jira_root, (await me(jira))["accountId"], scope="read:jira-work")
    assert "refresh_token" not in tokens


async def test_write_without_its_scope_is_refused(
    jira_root: httpx.AsyncClient, jira: httpx.AsyncClient, jira_project: dict[str, Any]
) -> None:
    tokens = await grant(jira_root, (await me(jira))["accountId"], scope="read:jira-work")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    cloud_id = (await jira_root.get("/_emulator")).json()["site"]["cloudId"]
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "x"}
    answer = await jira_root.post(
        f"/ex/jira/{cloud_id}/rest/api/3/issue", json={"fields": fields}, headers=bearer
    )
    assert answer.status_code == 401
    assert answer.json()["message"] == "Unauthorized; scope does not match"
