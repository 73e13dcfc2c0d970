"""Typed calls to the connectors' internal connection API (``tether_contracts.connections``).

Every connector serves the same API, so nothing here knows one provider from another: a call
goes to the connector of the provider a path names (authorize, callback), a body names (connect)
or a connection id starts with (``trello_...``). A provider is served when the deployment
configured a connector for it.

Failures become domain errors (``transport.py``), so endpoints only see contract models or a
``DomainError``; what a 404 means depends on the call (``refusals.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import RootModel

from api_gateway.connections.providers import (
    NAMES,
    PROVIDERS,
    Loc,
    invalid,
    provider_of,
    segment,
)
from api_gateway.connections.refusals import (
    OnNotFound,
    ProviderNotConfigured,
    UnknownProvider,
    connection_missing,
    dead_letter_missing,
    no_consent_flow,
    route_missing,
)
from api_gateway.connections.transport import Model, call_connector, send_to_connector
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
from tether_contracts.operations import DeadLetterOut, LinkHealthOut, ReplayedOut, WebhookOut
from tether_contracts.people import OwnerTimeZone, OwnerZoneUpdated
from tether_contracts.sync import Provider

Item = TypeVar("Item")


class _ConnectionList(RootModel[list[ConnectionOut]]):
    pass


class _LinkList(RootModel[list[LinkHealthOut]]):
    pass


class _WebhookList(RootModel[list[WebhookOut]]):
    pass


class _DeadLetterList(RootModel[list[DeadLetterOut]]):
    pass


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
            route_missing,
            json=dict(credentials),
            params=owner,
        )

    async def set_owner_zone(self, tenant_id: str, owner_id: str, time_zone: str) -> int:
        """Tell every connector a person's zone changed; how many of their connections
        follow it. The first connector that cannot be told is the answer (a 503): the call is
        idempotent, so sending it again finishes the job."""
        path = f"/internal/v1/tenants/{segment(tenant_id)}/owners/{segment(owner_id)}/time-zone"
        body = OwnerTimeZone(time_zone=time_zone).model_dump(mode="json")
        count = 0
        for provider in self.providers:
            done = await self._call(
                provider, "PUT", path, OwnerZoneUpdated, route_missing, json=body
            )
            count += done.connections
        return count

    async def connections(self, tenant_id: str) -> list[ConnectionOut]:
        found: list[ConnectionOut] = []
        # One connector after the other: a stable order, and the first failure is the answer
        # (a partial list would look like connections had gone).
        for provider in self.providers:
            path = self._connections(tenant_id)
            found += (await self._call(provider, "GET", path, _ConnectionList, route_missing)).root
        return found

    async def start_authorization(
        self, tenant_id: str, provider: Provider, user_id: str, time_zone: str
    ) -> AuthorizationStarted:
        """The provider's consent page for a flow the connector keeps for this tenant and
        user (and the user's zone, for the connection it makes), and when that flow stops
        counting."""
        path = f"/internal/v1/tenants/{segment(tenant_id)}/oauth/authorize"
        request = AuthorizeRequest(user_id=user_id, time_zone=time_zone)
        body = request.model_dump(mode="json")
        return await self._call(
            provider, "POST", path, AuthorizationStarted, no_consent_flow, json=body
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
            no_consent_flow,
            json=dict(query),
        )

    # -- what an operator looks at (tether_contracts.operations) ---------------------------

    async def links(self, tenant_id: str) -> list[LinkHealthOut]:
        """The tenant's links with their sync state, from every connector, each newest first."""
        return await self._from_each(tenant_id, "/links", _LinkList)

    async def webhooks(self, tenant_id: str) -> list[WebhookOut]:
        return await self._from_each(tenant_id, "/webhooks", _WebhookList)

    async def dead_letters(self, tenant_id: str) -> list[DeadLetterOut]:
        """The events each connector parked for the tenant, each newest first."""
        return await self._from_each(tenant_id, "/dead-letters", _DeadLetterList)

    async def replay(self, tenant_id: str, provider: Provider, record_id: str) -> ReplayedOut:
        """Publish a parked event again; a 404 (``dead_letter_not_found``) when ``provider``'s
        connector parked no such event for the tenant."""
        path = f"/internal/v1/tenants/{segment(tenant_id)}/dead-letters/{segment(record_id)}"
        return await self._call(
            self.served(provider, ("path", "provider")),
            "POST",
            f"{path}/replay",
            ReplayedOut,
            dead_letter_missing,
        )

    async def _from_each(
        self, tenant_id: str, part: str, answer: type[RootModel[list[Item]]]
    ) -> list[Item]:
        # One connector after the other, the first failure the answer: as for connections.
        found: list[Item] = []
        for provider in self.providers:
            path = f"/internal/v1/tenants/{segment(tenant_id)}{part}"
            found += (await self._call(provider, "GET", path, answer, route_missing)).root
        return found

    # -- by connection id ------------------------------------------------------------------

    async def connection(self, tenant_id: str, connection_id: str, *, loc: Loc) -> ConnectionOut:
        """One connection of the tenant; ``loc`` is where the client named it (for 422s)."""
        provider, path = self._of_connection(tenant_id, connection_id, "", loc=loc)
        return await self._call(provider, "GET", path, ConnectionOut, connection_missing)

    async def disconnect(self, tenant_id: str, connection_id: str) -> None:
        """Remove the connection (its connector unlinks its links and revokes the grant at the
        provider where it can); ``connection_missing`` when there is none."""
        provider, path = self._of_connection(tenant_id, connection_id, "")
        await send_to_connector(
            self._clients[provider], provider, "DELETE", path, connection_missing
        )

    async def targets(self, tenant_id: str, connection_id: str) -> Targets:
        provider, path = self._of_connection(tenant_id, connection_id, "/targets")
        return await self._call(provider, "GET", path, Targets, connection_missing)

    async def deletions(self, tenant_id: str, connection_id: str) -> DeletionsOut:
        provider, path = self._of_connection(tenant_id, connection_id, "/deletions")
        return await self._call(provider, "GET", path, DeletionsOut, connection_missing)

    async def confirm_deletions(self, tenant_id: str, connection_id: str) -> ConfirmedOut:
        provider, path = self._of_connection(tenant_id, connection_id, "/deletions/confirm")
        return await self._call(provider, "POST", path, ConfirmedOut, connection_missing)

    async def status_mapping(
        self, tenant_id: str, connection_id: str, body: StatusMappingBody | None = None
    ) -> StatusMappingOut:
        """Read (``body`` None) or replace a connection's status mapping."""
        provider, path = self._of_connection(tenant_id, connection_id, "/status-mapping")
        if body is None:
            return await self._call(provider, "GET", path, StatusMappingOut, connection_missing)
        return await self._call(
            provider,
            "PUT",
            path,
            StatusMappingOut,
            connection_missing,
            json=body.model_dump(mode="json"),
        )

    # --------------------------------------------------------------------------------------

    @staticmethod
    def _connections(tenant_id: str) -> str:
        return f"/internal/v1/tenants/{segment(tenant_id)}/connections"

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
        return provider, f"{self._connections(tenant_id)}/{segment(connection_id)}{part}"

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
        return await call_connector(
            self._clients[provider],
            provider,
            method,
            path,
            answer,
            on_not_found,
            json=json,
            params=params,
        )
