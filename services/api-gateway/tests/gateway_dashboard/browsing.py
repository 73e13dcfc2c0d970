"""Logging in and posting forms as the dashboard's browser does."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx

IssueToken = Callable[[str, str], Awaitable[str]]


async def log_in(client: httpx.AsyncClient, token: str) -> None:
    answer = await client.post("/dashboard/login", data={"token": token})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dashboard"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found is not None, "no CSRF field on the page"
    return found[1]
