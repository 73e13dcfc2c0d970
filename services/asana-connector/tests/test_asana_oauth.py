"""Connecting to Asana: a personal access token checked with GET /users/me, and OAuth 2.0's
code grant with PKCE against the emulator (consent, exchange, refresh, revoke)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import respx
from fastapi import FastAPI

from asana_connector.adapter import AsanaAdapter, AsanaCredentials
from asana_connector.config import AsanaSettings
from asana_connector.secret import AsanaSecret
from tether_connector_runtime.api.consent import AppRefused, OAuthNotConfigured
from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import CredentialRenewal
from tether_connector_runtime.retry import AuthRevokedError, PermanentProviderError
from tether_emulators.asana import AsanaEmulator


async def consent(adapter: AsanaAdapter, root: httpx.AsyncClient, user: str) -> dict[str, str]:
    """Start a flow and consent as ``user`` with what its URL asks: the callback's query."""
    started = await adapter.consent.begin()
    url = urlsplit(started.authorize_url)
    query = dict(parse_qsl(url.query))
    assert url.path == "/-/oauth_authorize"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == started.state
    assert query["redirect_uri"] == "http://tether.test/v1/connections/asana/callback"
    answer = await root.post(
        "/_emulator/oauth/authorize",
        json={
            "client_id": query["client_id"],
            "redirect_uri": query["redirect_uri"],
            "user": user,
            "state": query["state"],
            "code_challenge": query["code_challenge"],
        },
    )
    answer.raise_for_status()
    params = dict(parse_qsl(urlsplit(answer.json()["redirect"]).query))
    params["verifier"] = started.secret
    return params


async def test_a_personal_access_token_is_checked_and_never_expires(
    adapter: AsanaAdapter, ada: str, pat: str
) -> None:
    account = await adapter.authenticate(AsanaCredentials(token=pat))
    assert (account.account_id, account.account_name) == (ada, "Ada Lovelace")
    assert account.expires_at is None
    assert AsanaSecret.loads(account.secret) == AsanaSecret("pat", pat)
    with pytest.raises(AuthRevokedError):
        await adapter.authenticate(AsanaCredentials(token="not-a-token-of-anyone"))


async def test_consent_with_pkce_gives_an_account_whose_token_works(
    adapter: AsanaAdapter, root: httpx.AsyncClient, ada: str
) -> None:
    params = await consent(adapter, root, ada)
    verifier = params.pop("verifier")
    assert adapter.consent.state_of(params) == params["state"]
    before = datetime.now(UTC)
    account = await adapter.consent.complete(params, verifier)
    assert account.account_id == ada
    assert account.expires_at is not None
    assert before + timedelta(seconds=3590) < account.expires_at
    assert account.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    secret = AsanaSecret.loads(account.secret)
    assert secret.oauth
    assert secret.refresh_token
    await adapter.session(account.secret, Owner()).check_grant()


async def test_a_code_exchanged_with_another_verifier_is_refused(
    adapter: AsanaAdapter, root: httpx.AsyncClient, ada: str
) -> None:
    params = await consent(adapter, root, ada)
    params.pop("verifier")
    with pytest.raises(PermanentProviderError, match="code_verifier"):
        await adapter.consent.complete(params, "another-verifier-" + "x" * 40)


def test_a_refused_consent_says_why(adapter: AsanaAdapter) -> None:
    with pytest.raises(ValueError, match="access_denied"):
        adapter.consent.state_of({"error": "access_denied", "state": "s"})
    with pytest.raises(ValueError, match="no code"):
        adapter.consent.state_of({"state": "s"})


async def test_an_app_without_credentials_cannot_begin(
    http: httpx.AsyncClient, settings_for: Callable[..., AsanaSettings]
) -> None:
    adapter = AsanaAdapter(http, settings_for(client_id="", client_secret=""))
    with pytest.raises(OAuthNotConfigured):
        await adapter.consent.begin()


async def test_an_app_asana_does_not_know_is_named_as_the_problem(
    emulator: FastAPI,
    adapter: AsanaAdapter,
    http: httpx.AsyncClient,
    root: httpx.AsyncClient,
    ada: str,
    settings_for: Callable[..., AsanaSettings],
) -> None:
    params = await consent(adapter, root, ada)
    verifier = params.pop("verifier")
    transport = httpx.ASGITransport(app=emulator)
    wrong = AsanaAdapter(http, settings_for(client_secret="wrong"), transport=transport)
    with pytest.raises(AppRefused, match="TETHER_ASANA_CLIENT_SECRET"):
        await wrong.consent.complete(params, verifier)


async def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_token(
    adapter: AsanaAdapter, oauth_secret: AsanaSecret, emu: AsanaEmulator, ada: str
) -> None:
    assert isinstance(adapter, CredentialRenewal)
    emu.offset += 3601  # the access token has expired
    expired = adapter.session(oauth_secret.dumps(), Owner())
    with pytest.raises(AuthRevokedError):
        await expired.check_grant()
    account = await adapter.refresh(oauth_secret.dumps())
    renewed = AsanaSecret.loads(account.secret)
    assert account.account_id == ada
    assert renewed.refresh_token == oauth_secret.refresh_token
    assert renewed.access_token != oauth_secret.access_token
    await adapter.session(account.secret, Owner()).check_grant()


async def test_revoke_ends_the_grant_and_a_refresh_is_then_refused_for_good(
    adapter: AsanaAdapter, oauth_secret: AsanaSecret
) -> None:
    await adapter.revoke(oauth_secret.dumps())
    with pytest.raises(AuthRevokedError):
        await adapter.session(oauth_secret.dumps(), Owner()).check_grant()
    with pytest.raises(AuthRevokedError, match="invalid_grant"):
        await adapter.refresh(oauth_secret.dumps())


async def test_revoking_a_personal_access_token_leaves_it_to_its_owner(
    adapter: AsanaAdapter, emu: AsanaEmulator, pat: str
) -> None:
    await adapter.revoke(AsanaSecret("pat", pat).dumps())
    await adapter.session(AsanaSecret("pat", pat).dumps(), Owner()).check_grant()
    assert emu.requests[-1]["path"] == "/api/1.0/users/me"


def test_an_unreadable_stored_secret_asks_for_a_new_connection(adapter: AsanaAdapter) -> None:
    with pytest.raises(AuthRevokedError):
        adapter.session("not json", Owner())
    with pytest.raises(AuthRevokedError):
        adapter.session('{"kind": "oauth", "access_token": "a"}', Owner())


@respx.mock
async def test_refresh_sends_the_redirect_uri_and_consent_the_configured_scopes(
    http: httpx.AsyncClient, settings_for: Callable[..., AsanaSettings]
) -> None:
    """As Asana's own client does on the refresh grant (node-asana, lib/auth/app.js); an app
    registered with granular scopes asks for them at consent."""
    scopes = ["tasks:read", "tasks:write", "projects:read"]
    settings = settings_for(oauth_scopes=scopes)
    adapter = AsanaAdapter(http, settings)
    route = respx.post(f"{settings.oauth_url}/-/oauth_token").respond(
        200,
        json={
            "access_token": "new-access",
            "expires_in": 3600,
            "token_type": "bearer",
            "data": {"gid": "1", "name": "Ada"},
        },
    )
    await adapter.refresh(AsanaSecret("oauth", "old-access", "the-refresh").dumps())
    form = dict(parse_qsl(route.calls.last.request.content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "the-refresh"
    assert form["redirect_uri"] == settings.oauth_callback
    started = await adapter.consent.begin()
    assert dict(parse_qsl(urlsplit(started.authorize_url).query))["scope"] == " ".join(scopes)
