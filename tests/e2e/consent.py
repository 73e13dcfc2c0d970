"""Connecting through a provider's OAuth consent page as a browser would: the gateway's
authorize URL, the emulator's consent form, and the redirect back to the gateway."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx


class ConsentForm(HTMLParser):
    """The hidden fields of a consent page and the values of its "Allow as <user>" buttons
    (those named ``button``)."""

    def __init__(self, button: str) -> None:
        super().__init__()
        self.button = button
        self.fields: dict[str, str] = {}
        self.users: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found["value"]
        if tag == "button" and found.get("name") == self.button:
            self.users.append(found["value"])


async def connect_by_consent(
    api: httpx.AsyncClient, provider: str, *, button: str, user: str
) -> dict[str, Any]:
    """Connect ``provider`` through its consent page, consenting as ``user`` (the value of the
    page's ``button`` for them); the new connection, as the gateway's callback answers it."""
    started = await api.get(f"/v1/connections/{provider}/authorize", params={"redirect": "false"})
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(started.json()["authorize_url"])
        assert page.status_code == 200, page.text
        form = ConsentForm(button)
        form.feed(page.text)
        assert user in form.users
        consent = await browser.post(
            str(page.url.copy_with(query=None)), data={**form.fields, button: user}
        )
        assert consent.status_code == 303, consent.text
    back = urlsplit(consent.headers["location"])
    assert back.path == f"/v1/connections/{provider}/callback"
    # The browser returns to the gateway; the test's client stands in for it.
    done = await api.get(back.path, params=dict(parse_qsl(back.query)))
    assert done.status_code == 201, done.text
    return dict(done.json())
