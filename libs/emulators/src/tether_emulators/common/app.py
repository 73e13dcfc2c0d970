"""Every emulator's app, assembled the same way: its docs under ``/_emulator`` (the provider's
API owns the other paths), served offline, a landing pointer at ``/``, the provider's gate in
front of its API, the shared control routes with holds outermost, errors in the provider's
words on its API, and a shutdown that stops delivering. The provider then adds its routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from tether_emulators.common.emulator import Emulator
from tether_emulators.common.faults_api import install_faults
from tether_emulators.common.provider import Provider

E = TypeVar("E", bound=Emulator)


def emulator_app(emulator: E, provider: Provider[E, Any]) -> FastAPI:
    """The app of ``emulator``, kept at ``app.state.<provider name in lower case>``."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await emulator.aclose()

    name = provider.name
    # FastAPIOffline serves Swagger UI's assets from its package: the sandbox works offline.
    app = FastAPIOffline(
        title=f"{name} emulator",
        description=f"{name}'s REST API as Tether uses it, plus a control API under /_emulator.",
        lifespan=lifespan,
        # The provider has no /docs there; keep the emulator's own docs (and their assets) out
        # of its API.
        docs_url="/_emulator/docs",
        openapi_url="/_emulator/openapi.json",
        redoc_url=None,
        static_url="/_emulator/docs/assets",
        swagger_ui_oauth2_redirect_url="/_emulator/docs/oauth2-redirect",
    )
    setattr(app.state, name.lower(), emulator)
    # A pointer for people who open the sandbox in a browser.
    landing = {
        f"{name.lower()}_api": provider.api_path,
        "control": "/_emulator",
        "docs": "/_emulator/docs",
    }

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        return landing

    _answer_errors(app, provider)
    app.add_middleware(provider.gate, emulator=emulator)
    # Added after the gate, so outermost: a held request went through the gate like any other.
    install_faults(app, emulator, provider)
    return app


def _answer_errors(app: FastAPI, provider: Provider[Any, Any]) -> None:
    async def provider_error(_: Request, exc: Exception) -> Response:
        return provider.answer(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        error = cast(StarletteHTTPException, exc)
        if provider.is_api_path(request.url.path):
            # The provider's own router answers a route it does not have, in its own words.
            return provider.unknown_route(request, error.status_code)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    app.add_exception_handler(provider.error, provider_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
