"""``html_notes`` validated as Asana does, and ``notes`` kept as its plain-text rendering."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


async def put_html(asana: httpx.AsyncClient, gid: str, html: str) -> httpx.Response:
    return await asana.put(
        f"/tasks/{gid}",
        params={"opt_fields": "notes,html_notes"},
        json={"data": {"html_notes": html}},
    )


@pytest.fixture
async def task(asana: httpx.AsyncClient, project: dict[str, Any]) -> str:
    created = await asana.post("/tasks", json={"data": {"projects": [project["gid"]]}})
    return str(created.json()["data"]["gid"])


async def test_valid_rich_text_is_kept_and_rendered_as_notes(
    asana: httpx.AsyncClient, task: str
) -> None:
    html = (
        '<body><strong>Ship</strong> it\nsee <a href="https://example.com">the docs</a>'
        "<ul><li>one</li><li><em>two</em></li></ul></body>"
    )
    answer = await put_html(asana, task, html)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["html_notes"] == html
    assert data["notes"] == "Ship it\nsee the docs\n• one\n• two"


@pytest.mark.parametrize(
    "html",
    [
        "<body><p>paragraph</p></body>",  # <p> is not in Asana's tag set
        "<body>line<br/>break</body>",  # nor <br>: newlines are literal text
        '<body><strong class="x">bold</strong></body>',  # attributes only on <a>
        '<body><a onclick="x()">link</a></body>',  # and only Asana's on <a>
        "<body><strong>unclosed</body>",  # invalid XML
        "<div>not a body</div>",  # the root must be <body>
        "plain text",
        "<body><img/></body>",  # images need an attachment the emulator does not model
    ],
)
async def test_what_asana_refuses(asana: httpx.AsyncClient, task: str, html: str) -> None:
    refused = await put_html(asana, task, html)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"].startswith("html_notes: ")


async def test_plain_notes_become_escaped_rich_text(asana: httpx.AsyncClient, task: str) -> None:
    answer = await asana.put(
        f"/tasks/{task}",
        params={"opt_fields": "html_notes"},
        json={"data": {"notes": "a < b & c\nnext"}},
    )
    assert answer.json()["data"]["html_notes"] == "<body>a &lt; b &amp; c\nnext</body>"
