"""A connection's status mapping: which places (Trello lists, Asana sections, Jira statuses)
mean done and which not done.

With a mapping, an item's place decides whether its task is completed (dragging a card to Done
completes the task), and completing or reopening a task moves its item accordingly.
``list-mapping`` is the same for Trello in Trello's words (lists on boards), kept for the
clients that speak it: it is translated here, and the connector serves only the status mapping.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.providers import invalid, provider_of
from api_gateway.schemas import (
    CONNECTION_NOT_FOUND,
    CONNECTOR_UPSTREAM,
    UNAUTHORIZED,
    invalid_input_response,
)
from api_gateway.state import Connectors
from tether_contracts.connections import Meaning, StatusMappingBody, StatusMappingOut

router = APIRouter(
    prefix="/v1/connections",
    tags=["connections"],
    responses={**UNAUTHORIZED, **CONNECTOR_UPSTREAM},
)

_REFUSED: dict[int | str, dict[str, Any]] = {
    **CONNECTION_NOT_FOUND,
    422: invalid_input_response(
        "A place unknown to the account, or a container without both kinds (the place is named)"
    ),
}


@router.get(
    "/{connection_id}/status-mapping",
    summary="Places that mean done / not done",
    responses=CONNECTION_NOT_FOUND,
)
async def read_status_mapping(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> StatusMappingOut:
    return await connectors.status_mapping(principal.tenant_id, connection_id)


@router.put(
    "/{connection_id}/status-mapping",
    summary="Set which places mean done / not done",
    description="Place ids come from `GET .../targets`. Each container named needs at least "
    "one place of each kind (a reopened item leaves a done place for a not-done one); `{}` "
    "removes the mapping.",
    responses=_REFUSED,
)
async def replace_status_mapping(
    connection_id: str,
    body: StatusMappingBody,
    principal: CurrentPrincipal,
    connectors: Connectors,
) -> StatusMappingOut:
    return await connectors.status_mapping(principal.tenant_id, connection_id, body)


# -- Trello's words --------------------------------------------------------------------------


class ListMappingIn(BaseModel):
    lists: dict[str, Meaning] = Field(
        description="List id -> `done` or `not_done`. Each board named needs at least one of "
        "each (reopened cards leave a done list for a not-done one). `{}` removes the mapping.",
        examples=[{"5f1c0000000000000000aaaa": "not_done", "5f1c0000000000000000bbbb": "done"}],
    )


class MappedList(BaseModel):
    list_id: str
    board_id: str
    meaning: Meaning


class ListMappingOut(BaseModel):
    connection_id: str
    lists: list[MappedList]

    @classmethod
    def of(cls, mapping: StatusMappingOut) -> ListMappingOut:
        return cls(
            connection_id=mapping.connection_id,
            lists=[
                MappedList(list_id=p.place_id, board_id=p.container_id, meaning=p.meaning)
                for p in mapping.places
            ],
        )


def _trello(connection_id: str) -> None:
    loc = ("path", "connection_id")
    if provider_of(connection_id, loc) != "trello":
        raise invalid(
            loc,
            "lists are Trello's: use /v1/connections/{connection_id}/status-mapping",
            connection_id,
        )


def _in_lists(exc: RequestValidationError) -> RequestValidationError:
    """The connector's refusal of ``places`` as a refusal of ``lists``, the field the client
    sent."""

    def renamed(error: Any) -> Any:
        loc = tuple(error.get("loc", ())) if isinstance(error, dict) else ()
        if loc[:2] != ("body", "places"):
            return error
        return {**error, "loc": ("body", "lists", *loc[2:])}

    return RequestValidationError([renamed(e) for e in exc.errors()])


@router.get(
    "/{connection_id}/list-mapping",
    summary="Trello lists that mean done / not done",
    description="The status mapping of a Trello connection in Trello's words.",
    responses=CONNECTION_NOT_FOUND,
)
async def read_list_mapping(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> ListMappingOut:
    _trello(connection_id)
    return ListMappingOut.of(await connectors.status_mapping(principal.tenant_id, connection_id))


@router.put(
    "/{connection_id}/list-mapping",
    summary="Set which Trello lists mean done / not done",
    description="The status mapping of a Trello connection in Trello's words: list ids are "
    "its places, boards its containers.",
    responses={
        **CONNECTION_NOT_FOUND,
        422: invalid_input_response("A list unknown to the account, or a board without both kinds"),
    },
)
async def replace_list_mapping(
    connection_id: str, body: ListMappingIn, principal: CurrentPrincipal, connectors: Connectors
) -> ListMappingOut:
    _trello(connection_id)
    try:
        mapping = await connectors.status_mapping(
            principal.tenant_id, connection_id, StatusMappingBody(places=body.lists)
        )
    except RequestValidationError as exc:
        raise _in_lists(exc) from exc
    return ListMappingOut.of(mapping)
