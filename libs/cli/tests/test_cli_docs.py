"""The API docs a newcomer opens, Tether's and the sandbox emulators', load everything from
the server that serves them: no CDN, so they work offline."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from api_gateway.app import create_app as create_gateway
from tether_emulators.asana import create_asana_emulator
from tether_emulators.trello import create_trello_emulator

# Every URL a docs page makes the browser fetch: stylesheets, icons, scripts, the spec.
_REFERENCED = re.compile(r"""(?:src|href)="([^"]+)"|\burl: '([^']+)'""")
_NEEDED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "openapi.json")


async def assert_docs_work_offline(app: FastAPI, page: str, prefix: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://docs.test"
    ) as client:
        answer = await client.get(page)
        assert answer.status_code == 200
        # No absolute URL (a CDN): the page needs no host but the one serving it.
        assert "://" not in answer.text, answer.text
        urls = [src or spec for src, spec in _REFERENCED.findall(answer.text)]
        for name in _NEEDED:
            assert any(url.endswith(name) for url in urls), (name, urls)
        for url in urls:
            assert url.startswith(prefix), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url


@pytest.mark.parametrize(
    "create", [create_trello_emulator, create_asana_emulator], ids=["trello", "asana"]
)
async def test_the_emulators_docs_load_every_asset_from_the_emulator(
    create: Callable[..., FastAPI],
) -> None:
    # Under /_emulator: the rest is the provider's API, where the emulator answers as the
    # provider would.
    await assert_docs_work_offline(create(sandbox=True), "/_emulator/docs", "/_emulator/")


async def test_the_gateways_docs_the_ones_make_run_serves_load_every_asset_from_tether() -> None:
    await assert_docs_work_offline(create_gateway(), "/docs", "/")
