"""Logging in to the dashboard: the session cookie, being sent to the log-in page, logging out,
a revoked token, and the CSRF token every form must carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from .browsing import IssueToken, csrf_of, log_in
from .fakes import FakeTaskCore, OperatorFakeConnectors


@pytest.mark.parametrize("path", ["", "/panels/links", "/tasks/t1"])
async def test_without_a_session_every_page_sends_to_the_login(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(f"/dashboard{path}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"
    login = await client.get("/dashboard/login")
    assert login.status_code == 200
    assert 'name="token"' in login.text


async def test_a_panel_refreshing_without_a_session_sends_the_whole_page_to_the_login(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/dashboard/panels/links", headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"] == "/dashboard/login"


async def test_an_unknown_token_is_refused_and_sets_no_cookie(client: httpx.AsyncClient) -> None:
    answer = await client.post("/dashboard/login", data={"token": "tth_not-a-real-token"})
    assert answer.status_code == 401
    assert "unknown or revoked" in answer.text
    assert "set-cookie" not in answer.headers


async def test_the_session_cookie_is_httponly_strict_and_scoped(
    client: httpx.AsyncClient, issue_token: IssueToken
) -> None:
    token = await issue_token("acme", "ops@acme.test")
    answer = await client.post("/dashboard/login", data={"token": token})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"tether_dashboard={token};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here: a Secure cookie would never come back
    secure = await client.post("https://gateway.test/dashboard/login", data={"token": token})
    assert "Secure" in secure.headers["set-cookie"]


async def test_logout_clears_the_cookie(client: httpx.AsyncClient, world: dict[str, str]) -> None:
    page = await client.get("/dashboard")
    answer = await client.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    assert 'tether_dashboard=""' in answer.headers["set-cookie"]
    again = await client.get("/dashboard")
    assert again.status_code == 303
    assert again.headers["location"] == "/dashboard/login"


async def test_a_revoked_token_ends_the_session(
    client: httpx.AsyncClient,
    world: dict[str, str],
    revoke_token: Callable[[str], Awaitable[None]],
) -> None:
    assert (await client.get("/dashboard")).status_code == 200
    await revoke_token(world["acme_token"])
    answer = await client.get("/dashboard")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        ({}, {}),
        ({"csrf": "0" * 64}, {}),
        ("same", {"Origin": "https://evil.test"}),
    ],
    ids=["missing", "wrong", "other-origin"],
)
async def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient,
    world: dict[str, str],
    fake_task_core: FakeTaskCore,
    fake_connectors: OperatorFakeConnectors,
    form: dict[str, str] | str,
    headers: dict[str, str],
) -> None:
    page = await client.get("/dashboard")
    data = {"csrf": csrf_of(page.text)} if isinstance(form, str) else form
    task_id = world["acme_task"]
    for path in (
        f"/dashboard/tasks/{task_id}/conflicts/conflict-acme/choose",
        "/dashboard/dead-letters/trello/0:0/replay",
        "/dashboard/logout",
    ):
        answer = await client.post(path, data=data, headers=headers)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "csrf_refused"
    assert not [r for r in fake_task_core.requests if r.method == "PATCH"]
    assert fake_connectors.replayed == []
    assert (await client.get("/dashboard")).status_code == 200  # still logged in


async def test_another_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, world: dict[str, str], issue_token: IssueToken
) -> None:
    mine = csrf_of((await client.get("/dashboard")).text)
    await log_in(client, await issue_token("acme", "second@acme.test"))
    answer = await client.post(
        f"/dashboard/tasks/{world['acme_task']}/conflicts/conflict-acme/choose",
        data={"csrf": mine},
    )
    assert answer.status_code == 403
