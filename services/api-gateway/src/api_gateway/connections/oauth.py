"""Connecting Trello through its consent page (OAuth 1.0a) instead of pasting a token.

``authorize`` (with the caller's API token) starts: the Trello connector gets a request token
and the caller is sent to Trello's consent page. Trello then sends the person's browser back to
``callback``, which carries no API token: what authorizes it is the pending authorization the
connector kept for the tenant and user who started (single use, ten minutes). A callback made
with someone else's ``oauth_token`` can therefore only ever add a connection to the tenant that
started that authorization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.endpoints import Connection, Connectors
from api_gateway.schemas import UNAUTHORIZED, UPSTREAM, error_response
from tether_common.errors import DomainError

router = APIRouter(prefix="/v1/connections/trello", tags=["connections"], responses={**UPSTREAM})


class IncompleteCallback(DomainError):
    status_code = 400
    code = "authorization_incomplete"


class TrelloAuthorization(BaseModel):
    authorize_url: str = Field(description="Trello's consent page; open it in a browser")
    expires_at: datetime = Field(description="Consent given after this is refused")


@router.get(
    "/authorize",
    summary="Connect Trello through its consent page",
    description="Sends the caller to Trello's consent page (302), where the person allows "
    "Tether read and write access; Trello then sends the browser to "
    "`GET /v1/connections/trello/callback`, which makes the connection. With "
    "`redirect=false` the page's URL comes back as JSON instead, for clients that open it "
    "themselves. The consent must be given within ten minutes.",
    status_code=status.HTTP_302_FOUND,
    response_model=None,
    responses={
        **UNAUTHORIZED,
        302: {"description": "To Trello's consent page (`Location`)"},
        200: {
            "model": TrelloAuthorization,
            "description": "With `redirect=false`: the consent page's URL",
        },
    },
)
async def authorize(
    principal: CurrentPrincipal,
    connectors: Connectors,
    redirect: Annotated[
        bool, Query(description="false: answer the consent page's URL as JSON")
    ] = True,
) -> Response:
    started: dict[str, Any] = await connectors.start_trello_authorization(
        principal.tenant_id, principal.user_id
    )
    authorization = TrelloAuthorization.model_validate(started)
    if not redirect:
        return JSONResponse(authorization.model_dump(mode="json"))
    return RedirectResponse(authorization.authorize_url, status_code=status.HTTP_302_FOUND)


@router.get(
    "/callback",
    summary="Where Trello sends the browser back",
    description="Completes an authorization started at `GET /v1/connections/trello/authorize`: "
    "exchanges Trello's `oauth_token` and `oauth_verifier` for the person's token and stores "
    "the connection, exactly as `POST /v1/connections` does. Needs no API token; each "
    "authorization completes once.",
    status_code=status.HTTP_201_CREATED,
    responses={
        400: error_response(
            "`authorization_unknown` (no such authorization, or completed already), "
            "`authorization_expired`, `authorization_incomplete` (a parameter is missing: was "
            "consent refused?) or `token_rejected` (Trello refused the exchange; reason given)"
        )
    },
)
async def callback(
    connectors: Connectors,
    oauth_token: Annotated[str | None, Query(max_length=255)] = None,
    oauth_verifier: Annotated[str | None, Query(max_length=255)] = None,
) -> Connection:
    # Missing parameters are a 400 with a reason rather than a 422: a person lands here from
    # Trello's page, and the usual cause is that consent was not given.
    if not oauth_token:
        raise IncompleteCallback(
            "the callback needs the oauth_token Trello sends back: start at "
            "GET /v1/connections/trello/authorize"
        )
    if not oauth_verifier:
        raise IncompleteCallback(
            "Trello sent no oauth_verifier: consent was not given; start again at "
            "GET /v1/connections/trello/authorize"
        )
    created = await connectors.finish_trello_authorization(oauth_token, oauth_verifier)
    return Connection.model_validate(created)
