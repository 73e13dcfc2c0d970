"""The dashboard's session: the API token a person logged in with, kept in a cookie, and the
CSRF token its forms carry.

The cookie holds the token itself (HttpOnly, SameSite=Strict, Secure over https, scoped to
``/dashboard``): it is checked on every request exactly as the API's bearer token is, so a
revoked token logs the dashboard out at once, and no session state lives in the gateway.

Forms that change something carry a CSRF token derived from the session's API token (an HMAC
of it): a page of another site can neither read the cookie nor compute the token, and
SameSite=Strict already keeps the browser from sending the cookie with its requests. A POST
whose ``Origin`` header names another site is refused as well (this covers the login form,
which has no session yet).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request, Response

from api_gateway.auth.models import utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import Principal, authenticate
from api_gateway.state import GatewayState
from tether_common.db import transaction
from tether_common.errors import DomainError, Unauthorized

COOKIE = "tether_dashboard"
PATH = "/dashboard"
_CSRF_PURPOSE = b"tether-dashboard-csrf"


class CsrfRefused(DomainError):
    status_code = 403
    code = "csrf_refused"


def token_of(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


async def principal_of(state: GatewayState, token: str | None) -> Principal | None:
    """Who the session's token belongs to; None when there is none or it is unknown or
    revoked (the API would answer 401)."""
    if not token:
        return None
    try:
        async with transaction(state.sessions) as session:
            return await authenticate(AuthRepository(session), token, now=utcnow())
    except Unauthorized:
        return None


def csrf_token(api_token: str) -> str:
    """The CSRF token of a session: 64 hex characters, the same for the session's lifetime."""
    return hmac.new(api_token.encode(), _CSRF_PURPOSE, hashlib.sha256).hexdigest()


def check_csrf(request: Request, api_token: str, sent: str | None) -> None:
    """Raises ``CsrfRefused`` (403) unless ``sent`` is the session's CSRF token and the
    request comes from this site."""
    check_origin(request)
    if not sent or not hmac.compare_digest(sent, csrf_token(api_token)):
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page")


def check_origin(request: Request) -> None:
    """Raises ``CsrfRefused`` when the browser says the request comes from another site. A
    request without ``Origin`` (not sent by a browser, or an older one) passes: the CSRF
    token and SameSite cookie guard those."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc != request.url.netloc:
        raise CsrfRefused("a form of another site cannot act on this dashboard")


def keep(response: Response, request: Request, api_token: str) -> None:
    """Store the session's token in the browser."""
    response.set_cookie(
        COOKIE,
        api_token,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def forget(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
