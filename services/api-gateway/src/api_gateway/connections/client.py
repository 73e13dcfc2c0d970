"""Typed calls to the connectors' internal connection API.

Each connector owns its provider's accounts (tokens encrypted at rest); the gateway only
routes a request to the connector of the connection's provider, which the id's prefix names
(``trello_...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.exceptions import RequestValidationError

from tether_common.errors import DomainError, NotFound, UpstreamUnavailable

PROVIDERS = ("trello", "asana", "jira")
# Connectors that can take connections today; the others still answer health checks only.
CONNECTABLE = ("trello",)


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class ProviderRefused(DomainError):
    """A 400 from the connector, under the connector's own code (``token_rejected``,
    ``authorization_expired``, ...)."""

    status_code = 400
    code = "token_rejected"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


def provider_of(connection_id: str) -> str:
    provider = connection_id.split("_", 1)[0]
    if provider not in PROVIDERS or "_" not in connection_id:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "connection_id"),
                    "msg": "not a connection id (they look like trello_<hex>)",
                    "input": connection_id,
                }
            ]
        )
    return provider


class ConnectorClient:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def _call(self, provider: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._clients[provider].request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"the {provider} connector is unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500:
            failed = f"the {provider} connector failed ({response.status_code})"
            reason = _error(response).get("message")
            # Its reason when it gave one, e.g. that Trello itself is unreachable.
            raise UpstreamUnavailable(f"{failed}: {reason}" if reason else failed)
        body = response.json() if response.content else None
        if response.status_code == 404:
            raise ConnectionNotFound(body["error"]["message"] if body else "not found")
        if response.status_code == 400:
            error = _error(response)
            raise ProviderRefused(error.get("message", "refused"), error.get("code"))
        if response.status_code == 422:
            raise RequestValidationError(body.get("detail", []) if body else [])
        return body

    async def start_trello_authorization(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        """A request token from Trello: the consent page's URL and when it stops counting."""
        path = f"/internal/v1/tenants/{quote(tenant_id, safe='')}/oauth/authorize"
        return dict(await self._call("trello", "POST", path, json={"user_id": user_id}))

    async def finish_trello_authorization(
        self, oauth_token: str, oauth_verifier: str
    ) -> dict[str, Any]:
        """The connection made from what Trello's consent page sent back; the connector knows
        the tenant from the pending authorization."""
        body = {"oauth_token": oauth_token, "oauth_verifier": oauth_verifier}
        return dict(await self._call("trello", "POST", "/internal/v1/oauth/callback", json=body))

    def _base(self, tenant_id: str) -> str:
        return f"/internal/v1/tenants/{quote(tenant_id, safe='')}/connections"

    def _of_connection(self, tenant_id: str, connection_id: str, part: str) -> tuple[str, str]:
        """The connector that owns ``connection_id`` and the path of one part of it there."""
        path = f"{self._base(tenant_id)}/{quote(connection_id, safe='')}/{part}"
        return provider_of(connection_id), path

    async def connect(self, tenant_id: str, provider: str, token: str) -> dict[str, Any]:
        return dict(
            await self._call(provider, "POST", self._base(tenant_id), json={"token": token})
        )

    async def connections(self, tenant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for provider in CONNECTABLE:
            found += await self._call(provider, "GET", self._base(tenant_id))
        return found

    async def targets(self, tenant_id: str, connection_id: str) -> dict[str, Any]:
        provider, path = self._of_connection(tenant_id, connection_id, "targets")
        return dict(await self._call(provider, "GET", path))

    async def deletions(self, tenant_id: str, connection_id: str) -> dict[str, Any]:
        provider, path = self._of_connection(tenant_id, connection_id, "deletions")
        return dict(await self._call(provider, "GET", path))

    async def confirm_deletions(self, tenant_id: str, connection_id: str) -> dict[str, Any]:
        provider, path = self._of_connection(tenant_id, connection_id, "deletions/confirm")
        return dict(await self._call(provider, "POST", path))

    async def list_mapping(
        self, tenant_id: str, connection_id: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Read (``body`` None) or replace a connection's list mapping."""
        provider, path = self._of_connection(tenant_id, connection_id, "list-mapping")
        if body is None:
            return dict(await self._call(provider, "GET", path))
        return dict(await self._call(provider, "PUT", path, json=body))


def _error(response: httpx.Response) -> dict[str, str]:
    """The ``error`` object of a connector's answer, or nothing when it has none (a plain
    "Internal Server Error")."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return {k: str(v) for k, v in error.items()} if isinstance(error, dict) else {}
