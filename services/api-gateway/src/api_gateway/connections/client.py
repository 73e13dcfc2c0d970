"""Typed calls to the connectors' internal connection API (``tether_contracts.connections``).

Every connector serves the same API, so nothing here knows one provider from another: a call
goes to the connector of the provider a path names (authorize, callback), a body names (connect)
or a connection id starts with (``trello_...``). A provider is served when the deployment
configured a connector for it.

Failures become domain errors, so endpoints only see contract models or a ``DomainError``:
unreachable or 5xx is a 503; an answer outside the contract a 502; refusals the connector
explains (400, 404, 409) keep its status, code and words; its 422s become ours, field by field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args
from urllib.parse import quote

import httpx
import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, RootModel, ValidationError

from api_gateway.tasks.client import UpstreamError
from tether_common.errors import (
    ROUTE_NOT_FOUND,
    DomainError,
    NotFound,
    UpstreamUnavailable,
    validation_error_of,
)
from tether_contracts.connections import (
    AuthorizationStarted,
    AuthorizeRequest,
    ConfirmedOut,
    ConnectionOut,
    DeletionsOut,
    StatusMappingBody,
    StatusMappingOut,
    Targets,
)
from tether_contracts.people import OwnerTimeZone, OwnerZoneUpdated
from tether_contracts.sync import Provider

log = structlog.get_logger(__name__)

PROVIDERS: tuple[Provider, ...] = get_args(Provider)
NAMES: dict[Provider, str] = {"trello": "Trello", "asana": "Asana", "jira": "Jira"}

Model = TypeVar("Model", bound=BaseModel)
Loc = tuple[str, ...]
# What a 404 from the connector means depends on the call: see ``_call``.
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
    (``token_rejected``, ``authorization_expired``, ...) and its words."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class _ConnectionList(RootModel[list[ConnectionOut]]):
    pass


def invalid(loc: Loc, message: str, value: object) -> RequestValidationError:
    """A 422 naming one field, as FastAPI's own validation errors do."""
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": message, "input": value}]
    )


def provider_of(connection_id: str, loc: Loc) -> Provider:
    """The provider a connection id starts with; a 422 at ``loc`` when it names none."""
    prefix, separator, rest = connection_id.partition("_")
    provider = next((p for p in PROVIDERS if p == prefix), None)
    if provider is None or not separator or not rest:
        raise invalid(
            loc,
            "not a connection id (they look like trello_<id>, asana_<id>, jira_<id>)",
            connection_id,
        )
    return provider


def _segment(value: str) -> str:
    # Ids go into the URL path; quoting keeps a crafted id from reaching another route.
    return quote(value, safe="")


class ConnectorClient:
    """One ``httpx.AsyncClient`` per configured connector (any transport), by provider."""

    def __init__(self, clients: Mapping[Provider, httpx.AsyncClient]) -> None:
        self._clients = dict(clients)

    @property
    def providers(self) -> tuple[Provider, ...]:
        """The providers this deployment runs a connector for, in a fixed order."""
        return tuple(p for p in PROVIDERS if p in self._clients)

    def provider(self, name: str) -> Provider:
        """The provider a URL path names; 404 when there is none or no connector for it."""
        provider = next((p for p in PROVIDERS if p == name), None)
        if provider is None:
            raise UnknownProvider(
                f"no provider {name[:32]!r}: Tether connects to {', '.join(PROVIDERS)}"
            )
        if provider not in self._clients:
            raise ProviderNotConfigured(self._not_served(provider))
        return provider

    def served(self, provider: Provider, loc: Loc) -> Provider:
        """``provider`` itself when a connector serves it; a 422 at ``loc`` otherwise."""
        if provider not in self._clients:
            raise invalid(loc, self._not_served(provider), provider)
        return provider

    def _not_served(self, provider: Provider) -> str:
        served = ", ".join(self.providers) or "none"
        return f"this deployment runs no {NAMES[provider]} connector (it connects: {served})"

    # -- by provider -----------------------------------------------------------------------

    async def connect(
        self,
        tenant_id: str,
        provider: Provider,
        credentials: Mapping[str, str],
        *,
        owner_id: str,
        time_zone: str,
    ) -> ConnectionOut:
        """Connect (or repair) an account for ``owner_id``, whose IANA ``time_zone`` the
        connection keeps (where date-only dues fall on an instant-only provider)."""
        path = self._connections(tenant_id)
        owner = {"owner_id": owner_id, "time_zone": time_zone}
        return await self._call(
            provider,
            "POST",
            path,
            ConnectionOut,
            _route_missing,
            json=dict(credentials),
            params=owner,
        )

    async def set_owner_zone(self, tenant_id: str, owner_id: str, time_zone: str) -> int:
        """Tell every connector a person's zone changed; how many of their connections
        follow it. The first connector that cannot be told is the answer (a 503): the call is
        idempotent, so sending it again finishes the job."""
        path = f"/internal/v1/tenants/{_segment(tenant_id)}/owners/{_segment(owner_id)}/time-zone"
        body = OwnerTimeZone(time_zone=time_zone).model_dump(mode="json")
        count = 0
        for provider in self.providers:
            done = await self._call(
                provider, "PUT", path, OwnerZoneUpdated, _route_missing, json=body
            )
            count += done.connections
        return count

    async def connections(self, tenant_id: str) -> list[ConnectionOut]:
        found: list[ConnectionOut] = []
        # One connector after the other: a stable order, and the first failure is the answer
        # (a partial list would look like connections had gone).
        for provider in self.providers:
            path = self._connections(tenant_id)
            found += (await self._call(provider, "GET", path, _ConnectionList, _route_missing)).root
        return found

    async def start_authorization(
        self, tenant_id: str, provider: Provider, user_id: str, time_zone: str
    ) -> AuthorizationStarted:
        """The provider's consent page for a flow the connector keeps for this tenant and
        user (and the user's zone, for the connection it makes), and when that flow stops
        counting."""
        path = f"/internal/v1/tenants/{_segment(tenant_id)}/oauth/authorize"
        request = AuthorizeRequest(user_id=user_id, time_zone=time_zone)
        body = request.model_dump(mode="json")
        return await self._call(
            provider, "POST", path, AuthorizationStarted, _no_consent_flow, json=body
        )

    async def finish_authorization(
        self, provider: Provider, query: Mapping[str, str]
    ) -> ConnectionOut:
        """The connection made from what the consent page sent back; the connector knows the
        tenant from the flow the query names."""
        return await self._call(
            provider,
            "POST",
            "/internal/v1/oauth/callback",
            ConnectionOut,
            _no_consent_flow,
            json=dict(query),
        )

    # -- by connection id ------------------------------------------------------------------

    async def connection(self, tenant_id: str, connection_id: str, *, loc: Loc) -> ConnectionOut:
        """One connection of the tenant; ``loc`` is where the client named it (for 422s)."""
        provider, path = self._of_connection(tenant_id, connection_id, "", loc=loc)
        return await self._call(provider, "GET", path, ConnectionOut, _connection_missing)

    async def targets(self, tenant_id: str, connection_id: str) -> Targets:
        provider, path = self._of_connection(tenant_id, connection_id, "/targets")
        return await self._call(provider, "GET", path, Targets, _connection_missing)

    async def deletions(self, tenant_id: str, connection_id: str) -> DeletionsOut:
        provider, path = self._of_connection(tenant_id, connection_id, "/deletions")
        return await self._call(provider, "GET", path, DeletionsOut, _connection_missing)

    async def confirm_deletions(self, tenant_id: str, connection_id: str) -> ConfirmedOut:
        provider, path = self._of_connection(tenant_id, connection_id, "/deletions/confirm")
        return await self._call(provider, "POST", path, ConfirmedOut, _connection_missing)

    async def status_mapping(
        self, tenant_id: str, connection_id: str, body: StatusMappingBody | None = None
    ) -> StatusMappingOut:
        """Read (``body`` None) or replace a connection's status mapping."""
        provider, path = self._of_connection(tenant_id, connection_id, "/status-mapping")
        if body is None:
            return await self._call(provider, "GET", path, StatusMappingOut, _connection_missing)
        return await self._call(
            provider,
            "PUT",
            path,
            StatusMappingOut,
            _connection_missing,
            json=body.model_dump(mode="json"),
        )

    # --------------------------------------------------------------------------------------

    @staticmethod
    def _connections(tenant_id: str) -> str:
        return f"/internal/v1/tenants/{_segment(tenant_id)}/connections"

    def _of_connection(
        self,
        tenant_id: str,
        connection_id: str,
        part: str,
        *,
        loc: Loc = ("path", "connection_id"),
    ) -> tuple[Provider, str]:
        """The connector that owns ``connection_id`` and the path of ``part`` of it there."""
        provider = self.served(provider_of(connection_id, loc), loc)
        return provider, f"{self._connections(tenant_id)}/{_segment(connection_id)}{part}"

    async def _call(
        self,
        provider: Provider,
        method: str,
        path: str,
        answer: type[Model],
        on_not_found: OnNotFound,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Model:
        headers = {}
        # Carry the request id so the connector's log lines join ours.
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if isinstance(request_id, str):
            headers["X-Request-ID"] = request_id
        try:
            response = await self._clients[provider].request(
                method, path, json=json, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            log.warning("connector_unreachable", provider=provider, path=path, error=repr(exc))
            raise UpstreamUnavailable(
                f"the {provider} connector is unreachable: {type(exc).__name__}"
            ) from exc
        status = response.status_code
        error = _error(response)
        if status >= 500:
            failed = f"the {provider} connector failed ({status})"
            # Its reason when it gave one, e.g. that the provider itself is unreachable.
            reason = error.get("message")
            raise UpstreamUnavailable(f"{failed}: {reason}" if reason else failed)
        if status == 404:
            raise on_not_found(provider, f"{method} {path}", error)
        if status in (400, 409):
            raise ConnectorRefused(
                status,
                error.get("code") or "refused",
                error.get("message") or f"the {provider} connector refused (HTTP {status})",
            )
        if status == 422:
            invalid = validation_error_of(_json(response))
            if invalid is not None:
                # Input only the connector can judge (a credential, a place): its field errors
                # as our own 422s.
                raise invalid
        if not 200 <= status < 300:
            log.error("connector_unexpected_status", provider=provider, path=path, status=status)
            raise UpstreamError(f"the {provider} connector answered HTTP {status} unexpectedly")
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as exc:
            log.error(
                "connector_contract_violation",
                provider=provider,
                model=answer.__name__,
                errors=exc.errors(include_input=False),
            )
            raise UpstreamError(
                f"the {provider} connector sent an invalid {answer.__name__.lstrip('_')}"
            ) from exc


def _connection_missing(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    # A connector says why (``connection_not_found``, also for another tenant's); a bare 404 or
    # ``route_not_found`` means it does not serve the route at all, which is a deployment
    # fault, not the client's.
    if not error or error.get("code") == ROUTE_NOT_FOUND:
        return _route_missing(provider, call, error)
    return ConnectionNotFound(error.get("message") or "no such connection")


def _no_consent_flow(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    code = error.get("code")
    if code and code != ROUTE_NOT_FOUND:
        return ConnectorRefused(404, code, error.get("message") or "not found")
    return NoConsentFlow(
        f"{NAMES[provider]} has no consent flow here: connect it with POST /v1/connections "
        "and the account's credentials"
    )


def _route_missing(provider: Provider, call: str, error: dict[str, str]) -> DomainError:
    # The full call goes to the log, not to the client: internal paths are not its business.
    log.error("connector_route_missing", provider=provider, call=call)
    return UpstreamError(
        f"the {provider} connector does not serve this request (is it older than the gateway?)"
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(response: httpx.Response) -> dict[str, str]:
    """The ``error`` object of a connector's answer, or nothing when it has none (a plain
    "Internal Server Error" from a proxy, say)."""
    error = _json(response).get("error")
    return {k: str(v) for k, v in error.items()} if isinstance(error, dict) else {}
