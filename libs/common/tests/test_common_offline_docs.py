"""Every service's API docs load from the service itself: no CDN, so they work offline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from tether_common.health import ReadinessCheck
from tether_common.service import build_service_app

# Every URL a docs page makes the browser fetch: stylesheets, icons, scripts, the spec.
_REFERENCED = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|\burl: '([^']+)'""")


@asynccontextmanager
async def _no_state(_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
    yield {}


def _nothing_to_check(_: Request) -> Mapping[str, ReadinessCheck]:
    return {}


def referenced_urls(html: str) -> list[str]:
    return [src or spec for src, spec in _REFERENCED.findall(html)]


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = build_service_app(
        service="docs-test",
        title="Docs test",
        lifespan=_no_state,
        routers=[],
        readiness=_nothing_to_check,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service.test"
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("page", "needed"),
    [
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "/openapi.json")),
        ("/redoc", ("redoc.standalone.js", "favicon.png", "/openapi.json")),
    ],
)
async def test_docs_pages_load_every_asset_from_the_service_itself(
    api: httpx.AsyncClient, page: str, needed: tuple[str, ...]
) -> None:
    answer = await api.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    # No absolute URL at all (a CDN, Google Fonts...): the page needs no other host.
    assert "://" not in html, html
    urls = referenced_urls(html)
    for name in needed:
        assert any(url.endswith(name) for url in urls), (name, urls)
    for url in urls:
        assert url.startswith("/"), url
        asset = await api.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_the_swagger_ui_assets_have_the_types_a_browser_needs(
    api: httpx.AsyncClient,
) -> None:
    # A browser refuses a script or stylesheet served as text/plain (nosniff): check the types.
    types = {
        url.rsplit(".", 1)[-1]: (await api.get(url)).headers["content-type"]
        for url in referenced_urls((await api.get("/docs")).text)
        if not url.endswith(".json")
    }
    assert types["js"].startswith(("text/javascript", "application/javascript")), types
    assert types["css"].startswith("text/css"), types
    assert types["png"] == "image/png", types
