"""OAuth 2.0 code grant with PKCE: the consent page, the token exchange, refresh (no new
refresh token), expiry after an hour on the emulator's clock, and revocation."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tether_emulators.asana.testing import oauth_tokens, pkce_pair

CLIENT, SECRET, REDIRECT = "tether-app", "tether-secret", "https://tether.test/callback"


@pytest.fixture(autouse=True)
async def registered(asana_root: httpx.AsyncClient) -> None:
    app = {"client_id": CLIENT, "client_secret": SECRET, "redirect_uris": [REDIRECT]}
    assert (await asana_root.post("/_emulator/apps", json=app)).status_code == 200


async def grant(root: httpx.AsyncClient, user: str) -> dict[str, object]:
    return await oauth_tokens(
        root, user_gid=user, client_id=CLIENT, client_secret=SECRET, redirect_uri=REDIRECT
    )


async def test_consent_page_redirects_with_code_and_state(
    asana_root: httpx.AsyncClient, tether_user: str
) -> None:
    verifier, challenge = pkce_pair()
    query = {
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await asana_root.get("/-/oauth_authorize", params=query)
    assert page.status_code == 200
    assert "Allow as Tether" in page.text
    decision = await asana_root.post("/-/oauth_authorize", data={**query, "user": tether_user})
    assert decision.status_code == 303
    location = urlsplit(decision.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = parse_qs(location.query)
    assert params["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "redirect_uri": REDIRECT,
        "code": params["code"][0],
    }
    wrong = await asana_root.post("/-/oauth_token", data={**form, "code_verifier": "nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # The code was spent by the failed attempt: a code is single use.
    again = await asana_root.post("/-/oauth_token", data={**form, "code_verifier": verifier})
    assert again.status_code == 400
    denied = await asana_root.post("/-/oauth_authorize", data={**query, "deny": "1"})
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]


async def test_unregistered_redirect_and_wrong_secret_are_refused(
    asana_root: httpx.AsyncClient, tether_user: str
) -> None:
    page = await asana_root.get(
        "/-/oauth_authorize",
        params={"client_id": CLIENT, "redirect_uri": "https://evil.test/", "response_type": "code"},
    )
    assert page.status_code == 400
    with pytest.raises(httpx.HTTPStatusError):
        await oauth_tokens(
            asana_root,
            user_gid=tether_user,
            client_id=CLIENT,
            client_secret="wrong",
            redirect_uri=REDIRECT,
        )


async def test_tokens_expire_after_an_hour_and_refresh_keeps_the_refresh_token(
    asana_root: httpx.AsyncClient,
    asana_as: Callable[[str | None], httpx.AsyncClient],
    tether_user: str,
) -> None:
    tokens = await grant(asana_root, tether_user)
    assert (tokens["token_type"], tokens["expires_in"]) == ("bearer", 3600)
    assert tokens["data"] == {
        "id": int(tether_user),
        "gid": tether_user,
        "name": "Tether",
        "email": "tether@asana.test",
    }
    async with asana_as(str(tokens["access_token"])) as client:
        assert (await client.get("/users/me")).status_code == 200
        await asana_root.post("/_emulator/clock/advance", json={"seconds": 3600})
        assert (await client.get("/users/me")).status_code == 401
    refresh = {
        "grant_type": "refresh_token",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "refresh_token": tokens["refresh_token"],
    }
    refreshed = (await asana_root.post("/-/oauth_token", data=refresh)).json()
    assert "refresh_token" not in refreshed  # the old one stays in use
    async with asana_as(refreshed["access_token"]) as client:
        assert (await client.get("/users/me")).status_code == 200
    twice = await asana_root.post("/-/oauth_token", data=refresh)
    assert twice.status_code == 200


async def test_revoke_takes_the_refresh_token_and_ends_the_grant(
    asana_root: httpx.AsyncClient,
    asana_as: Callable[[str | None], httpx.AsyncClient],
    tether_user: str,
) -> None:
    tokens = await grant(asana_root, tether_user)
    revoke = {"client_id": CLIENT, "client_secret": SECRET, "token": tokens["refresh_token"]}
    assert (await asana_root.post("/-/oauth_revoke", data=revoke)).status_code == 200
    async with asana_as(str(tokens["access_token"])) as client:
        assert (await client.get("/users/me")).status_code == 401
    refresh = {
        "grant_type": "refresh_token",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "refresh_token": tokens["refresh_token"],
    }
    refused = await asana_root.post("/-/oauth_token", data=refresh)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
