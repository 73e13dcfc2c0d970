"""Atlassian's OAuth 2.0 (3LO) against the Jira emulator in memory: the consent page's URL, a
refused consent, the code exchanged for an account on its site, rotating refresh tokens (the
reuse leeway, the chain revoked after it) and how Atlassian's refusals and outages read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from jira_connector.client import JiraClient
from jira_connector.config import DEFAULT_SCOPES, JiraSettings
from jira_connector.oauth import JiraOAuth, first_jira_site
from jira_connector.secret import JiraSecret
from tether_connector_runtime.api.consent import AppRefused, OAuthNotConfigured
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from tether_emulators.jira import JiraAccount, JiraEmulator, OAuthApp, create_jira_emulator
from tether_emulators.jira import get_emulator as emulator_of
from tether_emulators.jira.testing import ManualClock, oauth_tokens

API_URL = "http://jira.test"  # as api.atlassian.com
AUTH_URL = "http://127.0.0.1:9103"  # as auth.atlassian.com: https, or http on a loopback port
CALLBACK = "http://tether.test/v1/connections/jira/callback"
CLIENT_ID, CLIENT_SECRET = "tether-jira-client", "tether-jira-secret"
EMAIL = "ada@example.com"
LEEWAY = 10 * 60  # seconds Atlassian honours a spent refresh token (PROVIDERS.md)


def jira_settings(**overrides: Any) -> JiraSettings:
    values: dict[str, Any] = {
        "bus": "inprocess",
        "api_url": API_URL,
        "auth_url": AUTH_URL,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "public_url": "http://tether.test",
    }
    return JiraSettings(**(values | overrides))


class Whoami:
    """``GET /myself`` through the gateway with the secret's token, as the adapter asks it;
    ``asked`` lists the secrets it was given."""

    def __init__(self, emulator: FastAPI) -> None:
        self._emulator = emulator
        self.asked: list[JiraSecret] = []

    async def __call__(self, secret: JiraSecret) -> tuple[str, str]:
        self.asked.append(secret)
        me = await myself(self._emulator, secret)
        return str(me["accountId"]), str(me["displayName"])


async def myself(emulator: FastAPI, secret: JiraSecret) -> dict[str, Any]:
    """``/myself`` on the secret's site as its access token sees it (the token works)."""
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport) as http:
        client = JiraClient(
            http,
            api_url=f"{API_URL}/ex/jira/{secret.cloud_id}/rest/api/3",
            authorization=f"Bearer {secret.access_token}",
            secret=str(secret.access_token),
            limiter=None,
        )
        me: dict[str, Any] = await client.call("GET", "/myself")
        return me


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> FastAPI:
    return create_jira_emulator(
        accounts=[JiraAccount(EMAIL, "ada-api-token", display_name="Ada Lovelace")],
        apps=[OAuthApp(CLIENT_ID, CLIENT_SECRET, (CALLBACK,))],
        clock=clock,
        wall_clock=clock.now,
    )


@pytest.fixture
def emu(emulator: FastAPI) -> JiraEmulator:
    return emulator_of(emulator)


@pytest.fixture
def ada(emu: JiraEmulator) -> str:
    return emu.user_id(EMAIL)


@pytest.fixture
async def root(emulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's root: the OAuth endpoints and the control API."""
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=AUTH_URL) as client:
        yield client


@pytest.fixture
def whoami(emulator: FastAPI) -> Whoami:
    return Whoami(emulator)


@pytest.fixture
def oauth_for(emulator: FastAPI, whoami: Whoami) -> Callable[..., JiraOAuth]:
    """A flow on the emulator with settings overridden."""

    def make(**overrides: Any) -> JiraOAuth:
        transport = httpx.ASGITransport(app=emulator)
        return JiraOAuth(jira_settings(**overrides), whoami, transport=transport)

    return make


@pytest.fixture
def oauth(oauth_for: Callable[..., JiraOAuth]) -> JiraOAuth:
    return oauth_for()


@pytest.fixture
async def secret(root: httpx.AsyncClient, ada: str, emu: JiraEmulator) -> JiraSecret:
    """Ada's grant, consented and exchanged straight on the emulator."""
    tokens = await oauth_tokens(
        root,
        account_id=ada,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=CALLBACK,
    )
    return JiraSecret(
        "oauth",
        emu.site.url,
        cloud_id=emu.site.cloud_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def consent(oauth: JiraOAuth, root: httpx.AsyncClient, ada: str) -> dict[str, str]:
    """Begin a flow and consent as ``ada`` to what its URL asks: the callback's query."""
    started = await oauth.begin()
    query = dict(parse_qsl(urlsplit(started.authorize_url).query))
    answer = await root.post(
        "/_emulator/oauth/authorize",
        json={
            "client_id": query["client_id"],
            "redirect_uri": query["redirect_uri"],
            "account_id": ada,
            "scope": query["scope"],
            "state": query["state"],
        },
    )
    answer.raise_for_status()
    return dict(parse_qsl(urlsplit(answer.json()["redirect"]).query))


async def test_the_consent_page_is_atlassians_with_the_scopes_and_a_fresh_state(
    oauth: JiraOAuth,
) -> None:
    started = await oauth.begin()
    url = urlsplit(started.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{AUTH_URL}/authorize"
    assert dict(parse_qsl(url.query)) == {
        "audience": "api.atlassian.com",
        "client_id": CLIENT_ID,
        "scope": " ".join(DEFAULT_SCOPES),
        "redirect_uri": CALLBACK,
        "state": started.state,
        "response_type": "code",
        "prompt": "consent",
    }
    assert "offline_access" in DEFAULT_SCOPES
    assert started.secret == ""
    assert len(started.state) >= 20
    assert (await oauth.begin()).state != started.state


async def test_a_consent_refused_on_atlassians_page_says_why(
    oauth: JiraOAuth, root: httpx.AsyncClient
) -> None:
    started = await oauth.begin()
    query = dict(parse_qsl(urlsplit(started.authorize_url).query))
    page = await root.post("/authorize", data={**query, "deny": "1"})
    assert page.status_code == 303
    params = dict(parse_qsl(urlsplit(page.headers["location"]).query))
    assert params == {"error": "access_denied", "state": started.state}
    with pytest.raises(ValueError, match="access_denied: consent was refused"):
        oauth.state_of(params)
    with pytest.raises(ValueError, match="no code"):
        oauth.state_of({"state": started.state})


async def test_consent_gives_the_account_on_its_site_with_a_working_token(
    oauth: JiraOAuth,
    root: httpx.AsyncClient,
    ada: str,
    emulator: FastAPI,
    emu: JiraEmulator,
    whoami: Whoami,
) -> None:
    params = await consent(oauth, root, ada)
    assert oauth.state_of(params) == params["state"]
    before = datetime.now(UTC)
    account = await oauth.complete(params, "")
    after = datetime.now(UTC)
    host = urlsplit(emu.site.url).netloc
    assert account.account_id == f"{ada}@{host}"
    assert account.account_name == f"Ada Lovelace ({host})"
    assert account.expires_at is not None
    assert before + timedelta(hours=1) <= account.expires_at <= after + timedelta(hours=1)
    stored = JiraSecret.loads(account.secret)
    assert (stored.kind, stored.cloud_id, stored.site_url) == (
        "oauth",
        emu.site.cloud_id,
        emu.site.url,
    )
    assert stored.refresh_token
    assert whoami.asked == [stored]
    assert (await myself(emulator, stored))["accountId"] == ada


async def test_a_code_is_exchanged_once(
    oauth: JiraOAuth, root: httpx.AsyncClient, ada: str
) -> None:
    params = await consent(oauth, root, ada)
    await oauth.complete(params, "")
    with pytest.raises(AuthRevokedError, match="invalid_grant"):
        await oauth.complete(params, "")


async def test_a_grant_without_offline_access_is_refused_naming_the_scope(
    oauth_for: Callable[..., JiraOAuth], root: httpx.AsyncClient, ada: str, whoami: Whoami
) -> None:
    oauth = oauth_for(oauth_scopes=["read:jira-work", "write:jira-work"])
    params = await consent(oauth, root, ada)
    with pytest.raises(PermanentProviderError, match="offline_access"):
        await oauth.complete(params, "")
    assert whoami.asked == []


async def test_a_grant_that_reaches_no_jira_site_is_refused(
    oauth_for: Callable[..., JiraOAuth], root: httpx.AsyncClient, ada: str
) -> None:
    oauth = oauth_for(oauth_scopes=["read:confluence-content.all", "offline_access"])
    params = await consent(oauth, root, ada)
    with pytest.raises(PermanentProviderError, match="no Jira site"):
        await oauth.complete(params, "")


def test_the_site_is_the_first_resource_granted_a_jira_scope() -> None:
    wiki = {"id": "c-1", "url": "https://wiki.atlassian.net", "scopes": ["read:confluence-user"]}
    jira = {"id": "j-1", "url": "https://jira.atlassian.net/", "scopes": ["read:issue:jira"]}
    other = {"id": "j-2", "url": "https://b.atlassian.net", "scopes": ["read:jira-work"]}
    assert first_jira_site([wiki, jira, other]) == ("j-1", "https://jira.atlassian.net")
    assert first_jira_site([wiki, {"scopes": ["read:jira-work"]}]) is None


async def test_refresh_rotates_the_refresh_token_and_keeps_the_site(
    oauth: JiraOAuth, secret: JiraSecret, clock: ManualClock, emulator: FastAPI, whoami: Whoami
) -> None:
    account = await oauth.refresh(secret)
    renewed = JiraSecret.loads(account.secret)
    assert renewed.refresh_token != secret.refresh_token
    assert renewed.access_token != secret.access_token
    assert (renewed.cloud_id, renewed.site_url) == (secret.cloud_id, secret.site_url)
    assert account.expires_at is not None
    assert account.expires_at > datetime.now(UTC) + timedelta(minutes=59)
    assert (account.account_id, account.account_name) == ("", "")
    assert whoami.asked == []
    await myself(emulator, renewed)
    clock.advance(LEEWAY + 60)  # the new token is not spent: it works after any leeway
    again = JiraSecret.loads((await oauth.refresh(renewed)).secret)
    assert again.refresh_token not in (secret.refresh_token, renewed.refresh_token)


async def test_a_spent_refresh_token_offered_again_within_the_leeway_still_works(
    oauth: JiraOAuth, secret: JiraSecret, clock: ManualClock, emulator: FastAPI
) -> None:
    """A crash lost Atlassian's answer: the stored (spent) token is offered again."""
    lost = JiraSecret.loads((await oauth.refresh(secret)).secret)
    clock.advance(LEEWAY - 60)
    recovered = JiraSecret.loads((await oauth.refresh(secret)).secret)
    assert recovered.refresh_token == lost.refresh_token  # the chain's newest
    assert recovered.refresh_token != secret.refresh_token
    await myself(emulator, recovered)


async def test_a_spent_refresh_token_after_the_leeway_revokes_the_whole_chain(
    oauth: JiraOAuth, secret: JiraSecret, clock: ManualClock
) -> None:
    newest = JiraSecret.loads((await oauth.refresh(secret)).secret)
    clock.advance(LEEWAY + 60)
    with pytest.raises(AuthRevokedError, match="Unknown or invalid refresh token"):
        await oauth.refresh(secret)
    with pytest.raises(AuthRevokedError, match="invalid_grant"):
        await oauth.refresh(newest)


async def test_an_unknown_refresh_token_is_refused_for_good(
    oauth: JiraOAuth, secret: JiraSecret
) -> None:
    forged = JiraSecret(
        "oauth", secret.site_url, cloud_id=secret.cloud_id, access_token="a", refresh_token="x"
    )
    with pytest.raises(AuthRevokedError, match="invalid_grant"):
        await oauth.refresh(forged)
    basic = JiraSecret.basic(secret.site_url, EMAIL, "ada-api-token")
    with pytest.raises(AuthRevokedError, match="no refresh token"):
        await oauth.refresh(basic)


async def test_a_wrong_client_secret_is_named_as_the_apps_problem(
    oauth_for: Callable[..., JiraOAuth], root: httpx.AsyncClient, ada: str, secret: JiraSecret
) -> None:
    wrong = oauth_for(client_secret="not-the-secret")
    params = await consent(wrong, root, ada)
    with pytest.raises(AppRefused, match=r"TETHER_JIRA_CLIENT_SECRET.*access_denied"):
        await wrong.complete(params, "")
    with pytest.raises(AppRefused, match="TETHER_JIRA_CLIENT_ID"):
        await wrong.refresh(secret)
    await oauth_for().refresh(secret)  # the refresh token was not spent by the refusal


@pytest.mark.parametrize("unset", ["client_id", "client_secret"])
async def test_an_app_without_credentials_cannot_begin_nor_refresh(
    oauth_for: Callable[..., JiraOAuth], secret: JiraSecret, unset: str
) -> None:
    oauth = oauth_for(**{unset: ""})
    with pytest.raises(OAuthNotConfigured, match="TETHER_JIRA_CLIENT_ID"):
        await oauth.begin()
    with pytest.raises(OAuthNotConfigured):
        await oauth.refresh(secret)


def failing(outcome: httpx.Response | Exception) -> httpx.MockTransport:
    """Atlassian answering every request with ``outcome`` (or failing with it)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (httpx.Response(503, text="<html>Service Unavailable</html>"), 503),
        (httpx.Response(500, json={"error": "server_error"}), 500),
        (httpx.Response(429, text="Too Many Requests"), None),
        (httpx.ConnectError("connection refused"), None),
    ],
)
async def test_atlassian_unavailable_is_worth_retrying(
    whoami: Whoami, secret: JiraSecret, outcome: httpx.Response | Exception, status: int | None
) -> None:
    oauth = JiraOAuth(jira_settings(), whoami, transport=failing(outcome))
    with pytest.raises(RetryableProviderError) as refresh:
        await oauth.refresh(secret)
    assert refresh.value.status == status
    with pytest.raises(RetryableProviderError):
        await oauth.complete({"code": "c", "state": "s"}, "")


async def test_the_token_requests_carry_what_atlassian_lists(whoami: Whoami) -> None:
    """The code grant names the callback; the refresh grant the refresh token and no scope
    (Atlassian's refresh request has none); both the app's credentials in the body."""
    sent: list[dict[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(dict(parse_qsl(request.content.decode())))
        return httpx.Response(200, json={"access_token": "a2", "expires_in": 60})

    oauth = JiraOAuth(jira_settings(), whoami, transport=httpx.MockTransport(handle))
    old = JiraSecret("oauth", "https://s", cloud_id="c", access_token="a1", refresh_token="r1")
    account = await oauth.refresh(old)
    assert sent[-1] == {
        "grant_type": "refresh_token",
        "refresh_token": "r1",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    # An app with rotation off answers no refresh token: the one held stays.
    assert JiraSecret.loads(account.secret).refresh_token == "r1"
    assert account.expires_at is not None
    assert account.expires_at <= datetime.now(UTC) + timedelta(seconds=60)
    with pytest.raises(PermanentProviderError, match="offline_access"):
        await oauth.complete({"code": "the-code", "state": "s"}, "")
    assert sent[-1]["grant_type"] == "authorization_code"
    assert (sent[-1]["code"], sent[-1]["redirect_uri"]) == ("the-code", CALLBACK)


async def test_revoke_calls_nothing_and_leaves_the_grant_to_the_person(
    whoami: Whoami, secret: JiraSecret, oauth: JiraOAuth
) -> None:
    """Atlassian's 3LO has no revocation endpoint: the person removes the app from their
    account's Connected apps."""
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    await JiraOAuth(jira_settings(), whoami, transport=httpx.MockTransport(record)).revoke(secret)
    assert calls == []
    await oauth.refresh(secret)  # the grant still works
