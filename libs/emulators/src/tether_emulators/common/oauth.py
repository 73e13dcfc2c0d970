"""What the providers' OAuth 2.0 endpoints share: the error answer every OAuth server gives,
``{"error", "error_description"}`` (RFC 6749, section 5.2), and redirects with a query added.
The codes, tokens and their lifetimes are each provider's own."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


class OAuthFailure(Exception):
    """An OAuth error answer: ``{"error", "error_description"}`` with ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def with_query(url: str, query: dict[str, str]) -> str:
    """``url`` with ``query`` appended (to a query it may already have)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


async def _answer(_: Request, exc: Exception) -> Response:
    failure = cast(OAuthFailure, exc)
    body = {"error": failure.error, "error_description": failure.description}
    return JSONResponse(body, status_code=failure.status)


def answer_oauth_failures(app: FastAPI) -> None:
    """Answer every ``OAuthFailure`` raised in ``app`` with its status and body."""
    app.add_exception_handler(OAuthFailure, _answer)
