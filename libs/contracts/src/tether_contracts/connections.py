"""HTTP models of connections: every connector serves them (its internal API), the gateway
passes them on to clients. One definition here, never one on each side.

The internal API every connector serves (the connector runtime implements it once), under
``/internal/v1``:

=========================================================  ============================
``POST   /tenants/{t}/connections``  (provider credentials)  201 ``ConnectionOut``; 400 refused
  (query: ``owner_id``, ``time_zone``: who connects, and their IANA zone; default UTC)
``GET    /tenants/{t}/connections``                          200 ``list[ConnectionOut]``
``GET    /tenants/{t}/connections/{id}``                     200 ``ConnectionOut``; 404
``GET    /tenants/{t}/connections/{id}/targets``             200 ``Targets``
``GET    /tenants/{t}/connections/{id}/status-mapping``      200 ``StatusMappingOut``
``PUT    /tenants/{t}/connections/{id}/status-mapping``      200 ``StatusMappingOut``; 422
``GET    /tenants/{t}/connections/{id}/deletions``           200 ``DeletionsOut``
``POST   /tenants/{t}/connections/{id}/deletions/confirm``   200 ``ConfirmedOut``
``POST   /tenants/{t}/oauth/authorize`` ``AuthorizeRequest``  200 ``AuthorizationStarted``
``POST   /oauth/callback`` (the query the provider sent back)  201 ``ConnectionOut``; 400
``PUT    /tenants/{t}/owners/{user}/time-zone`` ``OwnerTimeZone``  200 ``OwnerZoneUpdated``
=========================================================  ============================

404s carry ``connection_not_found``; a connection of another tenant is not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tether_contracts.people import DEFAULT_TIME_ZONE, TimeZoneName
from tether_contracts.sync import Provider

ConnectionStatus = Literal["active", "broken"]
Meaning = Literal["done", "not_done"]


class ConnectionOut(BaseModel):
    """A person's provider account as Tether holds it (never its token)."""

    id: str = Field(description="Starts with the provider's name: trello_…, asana_…, jira_…")
    provider: Provider
    account_id: str
    account_name: str
    status: ConnectionStatus = Field(
        description="`broken`: the provider refused the credentials for good (revoked, "
        "expired); reconnect to repair it"
    )
    error: str | None = Field(default=None, description="Why it is broken")
    broken_since: datetime | None = Field(
        default=None, description="When the provider first refused it (while broken)"
    )
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        description="Its owner's IANA time zone: a date-only due is written to a provider "
        "whose due is an instant (Trello) as 12:00 that day in this zone",
    )
    delivery: Literal["webhook", "polling"] = Field(
        default="webhook",
        description="How the provider's changes reach Tether: `webhook` (moments), or "
        "`polling` where the provider lets this account register no webhook (a Jira API "
        "token without the Administer Jira permission): changes arrive with each "
        "reconciliation pass (TETHER_<PROVIDER>_RECONCILE_INTERVAL seconds)",
    )
    created_at: datetime


class Place(BaseModel):
    """Where an item sits inside a container: a Trello list, an Asana section, a Jira status;
    or a kind of item (a Jira issue type)."""

    id: str
    name: str
    target: dict[str, str] | None = Field(
        default=None,
        description="The `target` of `POST /v1/tasks/{id}/exports` that creates the copy here "
        "(Trello: `list_id`; Asana: `project_gid` and `section_gid`; Jira, on an issue type: "
        "`project_key` and `issue_type_id`); none where an export cannot name this place (a "
        "Jira status: a new issue starts in its workflow's first)",
    )


class Container(BaseModel):
    """What an item is created in: a Trello board, an Asana project, a Jira project."""

    id: str
    name: str
    kind: str = Field(description="The provider's word for it: board, project")
    group: str | None = Field(
        default=None, description="What holds the container, if anything (an Asana workspace)"
    )
    places: list[Place] = Field(description="Its lists / sections / statuses, in order")
    kinds: list[Place] = Field(
        default_factory=list,
        description="The kinds of item an export may create in it (Jira's issue types: the "
        "export target's issue_type_id); empty where items are of one kind",
    )


class Targets(BaseModel):
    """Where tasks can be exported for one connection."""

    containers: list[Container]


class StatusMappingBody(BaseModel):
    places: dict[str, Meaning] = Field(
        description="Place id (Trello list, Asana section, Jira status) -> `done` or "
        "`not_done`; an empty object removes the mapping"
    )


class MappedPlace(BaseModel):
    place_id: str
    container_id: str
    meaning: Meaning


class StatusMappingOut(BaseModel):
    connection_id: str
    places: list[MappedPlace]


class HeldDeletionOut(BaseModel):
    link_id: str
    task_id: str | None
    direction: Literal["provider", "core"] = Field(
        description="`provider`: the item was deleted in the provider (the task "
        "would be unlinked and flagged); `core`: the task was deleted here (the item would be "
        "archived)"
    )
    held_at: datetime


class DeletionsOut(BaseModel):
    connection_id: str
    paused: bool = Field(description="True while deletions of this account wait for a person")
    approved_until: datetime | None = Field(
        description="After a confirmation, deletions pass unchecked until then"
    )
    held: list[HeldDeletionOut]


class ConfirmedOut(BaseModel):
    propagated: int = Field(description="Held deletions now carried out")
    withdrawn: int = Field(
        description="Held deletions dropped because the item came back before confirming"
    )


class AuthorizeRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    time_zone: TimeZoneName | None = Field(
        default=None, description="The person's zone, for the connection made (default UTC)"
    )


class AuthorizationStarted(BaseModel):
    authorize_url: str = Field(description="The provider's consent page for this flow")
    expires_at: datetime = Field(description="After this the flow must be started again")
