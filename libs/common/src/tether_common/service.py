"""The FastAPI application shape every Tether service shares.

Each service passes its lifespan (which builds its engines, clients and bus and yields typed
state) and its routers; this adds what every service must have: the domain-error handler,
request metrics, /healthz, /readyz and /metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from tether_common.errors import install_error_handler
from tether_common.health import ReadinessCheck, health_router
from tether_common.metrics import http_metrics_middleware, metrics_router

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any]]]


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
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_error_handler(app)
    app.middleware("http")(http_metrics_middleware(service))
    app.include_router(health_router(readiness))
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    return app
