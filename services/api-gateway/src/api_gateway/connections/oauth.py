"""Connecting through a provider's consent page (OAuth 1.0a or 2.0) instead of pasting
credentials.

``authorize`` (with the caller's API token) starts: the provider's connector opens a flow for
the caller's tenant and user and the caller is sent to the provider's consent page. The provider
then sends the person's browser back to ``callback``, which carries no API token: what
authorizes it is the pending flow the connector kept (single use, short-lived), which the query
names (Trello's ``oauth_token``, an OAuth 2 ``state``). A callback made with someone else's
query can therefore only ever add a connection to the tenant that started that flow.

The gateway does not speak any provider's protocol: it passes the whole query on and lets the
connector judge it. It refuses only what is plainly no consent at all, so a person who declined
gets a reason rather than a connector's complaint about missing fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.providers import NAMES
from api_gateway.schemas import CONNECTOR_UPSTREAM, UNAUTHORIZED, error_response
from api_gateway.state import Connectors
from tether_common.errors import DomainError
from tether_contracts.connections import AuthorizationStarted, ConnectionOut
from tether_contracts.sync import Provider

router = APIRouter(
    prefix="/v1/connections/{provider}", tags=["connections"], responses={**CONNECTOR_UPSTREAM}
)

# A provider's query is a handful of short values; anything beyond this is not a callback.
MAX_PARAMETERS = 20
MAX_NAME = 64
MAX_VALUE = 4096

# Not a Literal: an unknown provider is a 404 in the error shape, not a 422.
ProviderName = Annotated[str, Path(description="`trello`, `asana` or `jira`", examples=["trello"])]
_UNKNOWN_PROVIDER: dict[int | str, dict[str, Any]] = {
    404: error_response(
        "No such provider (`unknown_provider`), no connector for it in this deployment "
        "(`provider_not_configured`), or it has no consent page (`consent_flow_unavailable`)"
    )
}


class IncompleteCallback(DomainError):
    status_code = 400
    code = "authorization_incomplete"


class InvalidCallback(DomainError):
    status_code = 400
    code = "callback_invalid"


@router.get(
    "/authorize",
    summary="Connect through the provider's consent page",
    description="Sends the caller to the provider's consent page (302), where the person "
    "allows Tether access; the provider then sends the browser to "
    "`GET /v1/connections/{provider}/callback`, which makes the connection. With "
    "`redirect=false` the page's URL comes back as JSON instead, for clients that open it "
    "themselves. The consent must be given before `expires_at`.",
    status_code=status.HTTP_302_FOUND,
    response_model=None,
    responses={
        **UNAUTHORIZED,
        **_UNKNOWN_PROVIDER,
        302: {"description": "To the provider's consent page (`Location`)"},
        200: {
            "model": AuthorizationStarted,
            "description": "With `redirect=false`: the consent page's URL",
        },
    },
)
async def authorize(
    provider: ProviderName,
    principal: CurrentPrincipal,
    connectors: Connectors,
    redirect: Annotated[
        bool, Query(description="false: answer the consent page's URL as JSON")
    ] = True,
) -> Response:
    started = await connectors.start_authorization(
        principal.tenant_id, connectors.provider(provider), principal.user_id, principal.time_zone
    )
    if not redirect:
        return JSONResponse(started.model_dump(mode="json"))
    return RedirectResponse(started.authorize_url, status_code=status.HTTP_302_FOUND)


def _query_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


@router.get(
    "/callback",
    summary="Where the provider sends the browser back",
    # What the connector said, no more: an older one sends no `error` at all.
    response_model_exclude_unset=True,
    description="Completes a flow started at `GET /v1/connections/{provider}/authorize`: every "
    "query parameter the provider sent goes to its connector, which exchanges them for the "
    "person's credentials and stores the connection, exactly as `POST /v1/connections` does. "
    "Needs no API token; each flow completes once.",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_UNKNOWN_PROVIDER,
        400: error_response(
            "`authorization_incomplete` (nothing came back, or the provider says access was "
            "not granted: was consent refused?), `callback_invalid` (a repeated or oversized "
            "parameter), or the connector's refusal: `authorization_unknown` (no such flow, "
            "or completed already), `authorization_expired`, `token_rejected` (the provider "
            "refused the exchange; reason given)"
        ),
    },
    # The query is the provider's, not a fixed set: these are documented, never required.
    openapi_extra={
        "parameters": [
            _query_parameter("oauth_token", "OAuth 1.0a (Trello): the request token"),
            _query_parameter("oauth_verifier", "OAuth 1.0a (Trello): proof of consent"),
            _query_parameter("code", "OAuth 2: the authorization code"),
            _query_parameter("state", "OAuth 2: the flow it completes"),
            _query_parameter("error", "OAuth 2: why no access was granted (access_denied)"),
        ]
    },
)
async def callback(
    provider: ProviderName, request: Request, connectors: Connectors
) -> ConnectionOut:
    served = connectors.provider(provider)
    query = _callback_query(served, request)
    return await connectors.finish_authorization(served, query)


def _callback_query(provider: Provider, request: Request) -> dict[str, str]:
    """The provider's query as one string per name, once it is plainly a consent."""
    name = NAMES[provider]
    start_again = f"start again at GET /v1/connections/{provider}/authorize"
    # A 400 with a reason rather than a 422: a person lands here from the provider's page.
    items = request.query_params.multi_items()
    if not items:
        raise IncompleteCallback(
            f"the callback carries nothing from {name}'s consent page: {start_again}"
        )
    query = dict(items)
    if len(query) != len(items):
        # Which of two values the connector would see is not ours to guess.
        raise InvalidCallback(f"a parameter came twice: {start_again}")
    if len(query) > MAX_PARAMETERS or any(
        len(k) > MAX_NAME or len(v) > MAX_VALUE for k, v in query.items()
    ):
        raise InvalidCallback(f"not a callback of {name}'s consent page: {start_again}")
    if "error" in query:
        # OAuth 2's refusal (RFC 6749 4.1.2.1): access_denied when the person declined.
        described = query.get("error_description")
        reason = query["error"] + (f" ({described[:200]})" if described else "")
        raise IncompleteCallback(
            f"{name} granted no access ({reason[:300]}): consent was not given; {start_again}"
        )
    if "oauth_token" in query and "oauth_verifier" not in query:
        # OAuth 1.0a sends the verifier with every consent (RFC 5849 2.2): a request token
        # without one is no consent, whatever the connector would say.
        raise IncompleteCallback(
            f"{name} sent no oauth_verifier: consent was not given; {start_again}"
        )
    return query
