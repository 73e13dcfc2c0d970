"""FastAPI dependencies and answer helpers shared by the API routers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from tether_emulators.asana.emulator import AsanaEmulator
from tether_emulators.asana.gate import API_PREFIX, CONTEXT_KEY, RequestContext
from tether_emulators.asana.params import page
from tether_emulators.asana.store import JSON
from tether_emulators.common.deps import from_scope, from_state

Ctx = Annotated[RequestContext, Depends(from_scope(CONTEXT_KEY, RequestContext))]
Emu = Annotated[AsanaEmulator, Depends(from_state("asana", AsanaEmulator))]


def wrapped(data: Any, status_code: int = 200) -> JSONResponse:
    """Asana wraps every answer: ``{"data": ...}``."""
    return JSONResponse({"data": data}, status_code=status_code)


def paged(request: Request, ctx: RequestContext, items: Sequence[JSON]) -> JSONResponse:
    """A list answer with Asana's pagination (``next_page`` when ``limit`` was given)."""
    path = request.url.path.removeprefix(API_PREFIX)
    base = str(request.base_url).rstrip("/") + API_PREFIX
    return JSONResponse(page(items, ctx.query, path, base))
