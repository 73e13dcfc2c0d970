"""The FastAPI application shape every Tether service shares.

Each service passes its lifespan (which builds its engines, clients and bus and yields typed
state) and its routers; this adds what every service must have: the domain-error handler,
request metrics, /healthz, /readyz and /metrics, and API docs (/docs, /redoc) that work offline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi_offline import FastAPIOffline

from tether_common.errors import install_error_handler
from tether_common.health import ReadinessCheck, health_router
from tether_common.metrics import http_metrics_middleware, metrics_router
from tether_common.tracing import flush_spans

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any]]]

# Where the docs pages load Swagger UI's and ReDoc's scripts, styles and icon from: this app.
DOCS_ASSETS_PATH = "/docs/assets"


def offline_docs_app(*, docs_assets_path: str = DOCS_ASSETS_PATH, **fastapi: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc pages load their assets from the app itself.

    FastAPI's default pages fetch Swagger UI and ReDoc from a CDN, so they stay blank on a
    machine without internet (a newcomer's laptop on a train, an air-gapped deployment). The
    assets ship in the ``fastapi-offline`` package and are mounted at ``docs_assets_path``;
    ``fastapi`` takes FastAPI's own arguments (``docs_url``, ``redoc_url``, ``openapi_url``...).
    """
    return FastAPIOffline(static_url=docs_assets_path, **fastapi)


def _flushing(lifespan: Lifespan) -> Lifespan:
    """``lifespan``, then the spans still waiting are exported (see ``flush_spans``)."""

    @asynccontextmanager
    async def flushed(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        try:
            async with lifespan(app) as state:
                yield state
        finally:
            await flush_spans()

    return flushed


def build_service_app(
    *,
    service: str,
    title: str,
    lifespan: Lifespan,
    routers: Sequence[APIRouter],
    readiness: Callable[[Request], Mapping[str, ReadinessCheck]],
    description: str = "",
    version: str = "0.1.0",
) -> FastAPI:
    app = offline_docs_app(
        title=title, description=description, version=version, lifespan=_flushing(lifespan)
    )
    install_error_handler(app)
    app.middleware("http")(http_metrics_middleware(service))
    app.include_router(health_router(readiness))
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    return app
