"""A connection's list mapping: which Trello lists mean done and which not done.

With a mapping, a card's list decides whether its task is completed (dragging a card to Done
completes the task), and completing or reopening a task moves its card accordingly.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.endpoints import Connectors
from api_gateway.schemas import UNAUTHORIZED, UPSTREAM

router = APIRouter(
    prefix="/v1/connections", tags=["connections"], responses={**UNAUTHORIZED, **UPSTREAM}
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such connection for this tenant (`connection_not_found`)"}
}
Meaning = Literal["done", "not_done"]


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


@router.get(
    "/{connection_id}/list-mapping",
    summary="Lists that mean done / not done",
    responses=NOT_FOUND,
)
async def read_list_mapping(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> ListMappingOut:
    return ListMappingOut.model_validate(
        await connectors.list_mapping(principal.tenant_id, connection_id)
    )


@router.put(
    "/{connection_id}/list-mapping",
    summary="Set which lists mean done / not done",
    responses={
        **NOT_FOUND,
        422: {"description": "A list unknown to the account, or a board without both kinds"},
    },
)
async def replace_list_mapping(
    connection_id: str, body: ListMappingIn, principal: CurrentPrincipal, connectors: Connectors
) -> ListMappingOut:
    return ListMappingOut.model_validate(
        await connectors.list_mapping(
            principal.tenant_id, connection_id, body.model_dump(mode="json")
        )
    )
