"""Rendering: the Jinja2 templates (files beside this module), their filters, and reading the
small url-encoded forms the pages post."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api_gateway.auth.service import Principal
from api_gateway.dashboard.session import csrf_token
from tether_common.errors import DomainError

HERE = Path(__file__).parent
STATIC = HERE / "static"
# A form is a handful of short fields; anything larger is not one of ours.
MAX_FORM_BYTES = 16 * 1024


class FormTooLarge(DomainError):
    status_code = 413
    code = "form_too_large"


def _when(at: datetime | None, zone: str = "UTC") -> str:
    """``at`` in the person's zone, to the second; ``-`` for none."""
    if at is None:
        return "-"
    local = at.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone)


def _value(value: Any) -> str:
    """A field value as a person reads it: strings quoted, none as "(none)"."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "done" if value else "not done"
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = _when
_env.filters["value"] = _value
templates = Jinja2Templates(env=_env)


def render(
    request: Request,
    name: str,
    principal: Principal | None = None,
    api_token: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The template ``name`` with the session's tenant, zone and CSRF token in its context."""
    response = templates.TemplateResponse(
        request,
        name,
        {
            "principal": principal,
            "zone": principal.time_zone if principal else "UTC",
            "csrf": csrf_token(api_token) if api_token else "",
            "notice": request.query_params.get("notice"),
            "problem": request.query_params.get("problem"),
            **context,
        },
        status_code=status_code,
    )
    # Pages show a tenant's data: never kept by a shared cache, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    return response


async def form_of(request: Request) -> dict[str, str]:
    """The url-encoded body's fields (the first value of each); 413 past ``MAX_FORM_BYTES``."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(f"a form of at most {MAX_FORM_BYTES} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}
