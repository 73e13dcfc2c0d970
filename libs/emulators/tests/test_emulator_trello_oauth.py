"""Trello's OAuth 1.0a flow on the emulator: signed token calls, the consent page, and a token
that works on the API; forged, replayed and unsigned calls are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth1Auth
from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.util import escape
from fastapi import FastAPI

from tether_emulators.trello import TrelloEmulator

KEY = "sandbox-key"  # conftest's emulator: the default key and secret
SECRET = "sandbox-secret"
MEMBER = "5e0000000000000000000001"  # conftest's Tether member
CALLBACK = "http://127.0.0.1:8000/v1/connections/trello/callback"
# OAuth 1.0a needs TLS; authlib makes an exception for loopback addresses with a port only.
BASE = "http://127.0.0.1:9101/1"


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield http


def signed(**kwargs: Any) -> OAuth1Auth:
    return OAuth1Auth(kwargs.pop("client_id", KEY), kwargs.pop("client_secret", SECRET), **kwargs)


def form(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return dict(parse_qsl(response.text))


async def request_token(web: httpx.AsyncClient, **kwargs: Any) -> dict[str, str]:
    answer = await web.post("/OAuthGetRequestToken", auth=signed(redirect_uri=CALLBACK, **kwargs))
    return form(answer)


async def consent(control: httpx.AsyncClient, token: str, member: str = MEMBER) -> str:
    answer = await control.post("/oauth/authorize", json={"oauth_token": token, "member": member})
    assert answer.status_code == 200, answer.text
    redirect = urlsplit(answer.json()["redirect"])
    query = parse_qs(redirect.query)
    assert redirect._replace(query="").geturl() == CALLBACK
    assert query["oauth_token"] == [token]
    assert query["oauth_verifier"] == [answer.json()["oauth_verifier"]]
    return str(answer.json()["oauth_verifier"])


async def access_token(
    web: httpx.AsyncClient, request: dict[str, str], verifier: str, **kwargs: Any
) -> httpx.Response:
    auth = signed(
        token=request["oauth_token"],
        token_secret=kwargs.pop("token_secret", request["oauth_token_secret"]),
        verifier=verifier,
        **kwargs,
    )
    return await web.post("/OAuthGetAccessToken", auth=auth)


async def test_the_whole_flow_yields_a_token_that_works_on_the_api(
    web: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    request = await request_token(web)
    assert request["oauth_callback_confirmed"] == "true"
    verifier = await consent(control, request["oauth_token"])

    granted = form(await access_token(web, request, verifier))
    assert len(granted["oauth_token"]) == 64
    assert granted["oauth_token_secret"]

    me = await web.get("/members/me", params={"key": KEY, "token": granted["oauth_token"]})
    assert me.status_code == 200
    assert me.json()["id"] == MEMBER


async def test_the_consent_page_redirects_to_the_callback(
    web: httpx.AsyncClient, emulator: TrelloEmulator
) -> None:
    request = await request_token(web)
    page = await web.get(
        "/OAuthAuthorizeToken",
        params={
            "oauth_token": request["oauth_token"],
            "name": "Tether",
            "scope": "read,write",
            "expiration": "never",
        },
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Let Tether use your Trello account?" in page.text
    assert "read,write" in page.text
    assert f'value="{MEMBER}"' in page.text

    chosen = await web.post(
        "/OAuthAuthorizeToken", data={"oauth_token": request["oauth_token"], "member": MEMBER}
    )
    assert chosen.status_code == 303
    location = urlsplit(chosen.headers["location"])
    assert location._replace(query="").geturl() == CALLBACK
    back = dict(parse_qsl(location.query))
    assert back["oauth_token"] == request["oauth_token"]

    granted = form(await access_token(web, request, back["oauth_verifier"]))
    assert emulator.store.tokens[granted["oauth_token"]] == MEMBER
    # Token calls are in the request log, like every /1 call.
    logged = [(r["method"], r["path"], r["status"]) for r in emulator.requests]
    assert ("POST", "/1/OAuthGetAccessToken", 200) in logged


async def test_denying_forgets_the_request_token(
    web: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    request = await request_token(web)
    denied = await web.post(
        "/OAuthAuthorizeToken", data={"oauth_token": request["oauth_token"], "deny": "1"}
    )
    assert denied.status_code == 200
    assert "denied" in denied.text
    late = await control.post(
        "/oauth/authorize", json={"oauth_token": request["oauth_token"], "member": MEMBER}
    )
    assert (late.status_code, late.text) == (400, "invalid token")


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (signed(client_secret="not-the-secret", redirect_uri=CALLBACK), "invalid signature"),
        (signed(client_id="other-key", redirect_uri=CALLBACK), "invalid key"),
        (None, "invalid signature"),
    ],
    ids=["bad-signature", "unknown-key", "unsigned"],
)
async def test_request_token_calls_must_be_signed_by_the_app(
    web: httpx.AsyncClient, auth: OAuth1Auth | None, message: str
) -> None:
    if auth is None:
        answer = await web.post("/OAuthGetRequestToken")
    else:
        answer = await web.post("/OAuthGetRequestToken", auth=auth)
    assert (answer.status_code, answer.text) == (401, message)
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("place", ["query", "body"])
async def test_protocol_parameters_may_travel_in_the_query_or_the_body(
    web: httpx.AsyncClient, place: str
) -> None:
    """Signed by hand (RFC 5849 3.4): authlib's client duplicates parameters in these modes."""
    url = f"{BASE}/OAuthGetRequestToken"
    params = [
        ("oauth_consumer_key", KEY),
        ("oauth_nonce", f"nonce-{place}"),
        ("oauth_timestamp", "1795880000"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_version", "1.0"),
        ("oauth_callback", CALLBACK),
    ]
    # The base string decodes oauth_* values, which the encoded form below stands for.
    encoded = [(k, escape(v)) for k, v in params]
    base = construct_base_string("POST", url, encoded, "127.0.0.1:9101")
    params.append(("oauth_signature", hmac_sha1_signature(base, SECRET, "")))
    if place == "query":
        answer = await web.post(url, params=urlencode(params))
    else:
        answer = await web.post(url, data=dict(params))
    assert form(answer)["oauth_callback_confirmed"] == "true"


async def test_a_request_token_call_needs_a_callback(web: httpx.AsyncClient) -> None:
    answer = await web.post("/OAuthGetRequestToken", auth=signed())
    assert (answer.status_code, answer.text) == (400, "invalid oauth_callback")


async def test_a_signed_request_cannot_be_replayed(web: httpx.AsyncClient) -> None:
    url, headers, _ = signed(redirect_uri=CALLBACK).prepare(
        "POST", f"{BASE}/OAuthGetRequestToken", {}, b""
    )
    first = await web.post(url, headers=headers)
    assert first.status_code == 200
    again = await web.post(url, headers=headers)
    assert (again.status_code, again.text) == (401, "nonce already used")


async def test_the_access_token_call_is_checked_and_single_use(
    web: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    request = await request_token(web)
    early = await access_token(web, request, "no-consent-yet")
    assert (early.status_code, early.text) == (401, "invalid token")

    verifier = await consent(control, request["oauth_token"])
    wrong_verifier = await access_token(web, request, "0" * 32)
    assert (wrong_verifier.status_code, wrong_verifier.text) == (401, "invalid verifier")
    wrong_secret = await access_token(web, request, verifier, token_secret="guessed")
    assert (wrong_secret.status_code, wrong_secret.text) == (401, "invalid signature")

    assert (await access_token(web, request, verifier)).status_code == 200
    reused = await access_token(web, request, verifier)
    assert (reused.status_code, reused.text) == (401, "invalid token")


async def test_a_reset_forgets_request_tokens(
    web: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    request = await request_token(web)
    assert (await control.post("/reset")).status_code == 200
    answer = await control.post(
        "/oauth/authorize", json={"oauth_token": request["oauth_token"], "member": MEMBER}
    )
    assert (answer.status_code, answer.text) == (400, "invalid token")
