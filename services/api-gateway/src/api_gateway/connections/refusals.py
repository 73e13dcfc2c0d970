"""What a connector's refusal means to the client: the domain errors the gateway answers with,
and what a 404 means for each kind of call (a connection not found, no consent flow, or a
connector that does not serve the route at all)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from api_gateway.connections.providers import NAMES
from api_gateway.tasks.client import UpstreamError
from tether_common.errors import ROUTE_NOT_FOUND, DomainError, NotFound
from tether_contracts.sync import Provider

log = structlog.get_logger(__name__)

# What a 404 from the connector means depends on the call: (provider, "METHOD path", the
# connector's error object) -> the error to answer.
OnNotFound = Callable[[Provider, str, dict[str, str]], DomainError]


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class UnknownProvider(NotFound):
    code = "unknown_provider"


class ProviderNotConfigured(NotFound):
    code = "provider_not_configured"


class NoConsentFlow(NotFound):
    code = "consent_flow_unavailable"


class ConnectorRefused(DomainError):
    """A refusal the connector explained: its status (400, 404, 409), its code
    (``token_rejected``, ``authorization_expired``, ...) and its words; or a failure it named
    (503 ``oauth_not_configured``, 502 ``provider_refused_app``)."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


def connection_missing(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    # A connector says why (``connection_not_found``, also for another tenant's); a bare 404 or
    # ``route_not_found`` means it does not serve the route at all, which is a deployment
    # fault, not the client's.
    if not error or error.get("code") == ROUTE_NOT_FOUND:
        return route_missing(provider, call, error)
    return ConnectionNotFound(error.get("message") or "no such connection")


def no_consent_flow(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    code = error.get("code")
    if code and code != ROUTE_NOT_FOUND:
        return ConnectorRefused(404, code, error.get("message") or "not found")
    return NoConsentFlow(
        f"{NAMES[provider]} has no consent flow here: connect it with POST /v1/connections "
        "and the account's credentials"
    )


def route_missing(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    # The full call goes to the log, not to the client: internal paths are not its business.
    log.error("connector_route_missing", provider=provider, call=call)
    return UpstreamError(
        f"the {provider} connector does not serve this request (is it older than the gateway?)"
    )


def dead_letter_missing(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    # ``dead_letter_not_found`` (also another tenant's) keeps its words; no code at all means
    # the connector does not serve the route.
    code = error.get("code")
    if code and code != ROUTE_NOT_FOUND:
        return ConnectorRefused(404, code, error.get("message") or "no such dead letter")
    return route_missing(provider, call, error)
