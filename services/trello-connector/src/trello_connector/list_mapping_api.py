"""A connection's list mapping (lists that mean done / not done): read and replace.

Internal API, called by the gateway (``/v1/connections/{id}/list-mapping``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from tether_common.db import transaction
from tether_connector_runtime.retry import PermanentProviderError
from trello_connector.connections import tenant_connection
from trello_connector.list_mapping import ListMapping, MappedList
from trello_connector.state import TrelloState, trello_state

router = APIRouter(
    prefix="/internal/v1/tenants/{tenant_id}/connections/{connection_id}/list-mapping",
    tags=["connections"],
)
State = Annotated[TrelloState, Depends(trello_state)]
Meaning = Literal["done", "not_done"]


class ListMappingBody(BaseModel):
    lists: dict[str, Meaning] = Field(
        description="Trello list id -> `done` or `not_done`; an empty object removes the mapping"
    )


class MappedListOut(BaseModel):
    list_id: str
    board_id: str
    meaning: Meaning


class ListMappingOut(BaseModel):
    connection_id: str
    lists: list[MappedListOut]


def _invalid(message: str, list_id: str | None = None) -> RequestValidationError:
    loc: tuple[str, ...] = ("body", "lists", list_id) if list_id else ("body", "lists")
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": message, "input": list_id}]
    )


def _out(connection_id: str, mapping: ListMapping) -> ListMappingOut:
    return ListMappingOut(
        connection_id=connection_id,
        lists=[
            MappedListOut(
                list_id=k, board_id=v.board_id, meaning="done" if v.completed else "not_done"
            )
            for k, v in mapping.lists.items()
        ],
    )


@router.get("", response_model=ListMappingOut)
async def read(tenant_id: str, connection_id: str, state: State) -> ListMappingOut:
    row = await tenant_connection(state, tenant_id, connection_id)
    return _out(connection_id, ListMapping.stored(row.list_mapping))


@router.put("", response_model=ListMappingOut)
async def replace(
    tenant_id: str, connection_id: str, body: ListMappingBody, state: State
) -> ListMappingOut:
    row = await tenant_connection(state, tenant_id, connection_id)
    client = state.client(state.cipher.decrypt(row.token_encrypted))
    lists: dict[str, MappedList] = {}
    for list_id, meaning in body.lists.items():
        # Each list must be one this account can see: its board is where moves happen.
        try:
            found = await client.list_(list_id)
        except PermanentProviderError as exc:
            raise _invalid(
                f"Trello does not know list {list_id} for this account", list_id
            ) from exc
        lists[list_id] = MappedList(board_id=str(found["idBoard"]), completed=meaning == "done")
    mapping = ListMapping(lists=lists)
    if problems := mapping.problems():
        # Completing a task moves its card to a done list, reopening it to a not-done one:
        # a board with only one kind could not keep the card's list and the task in step.
        raise _invalid("; ".join(problems))
    async with transaction(state.sessions) as session:
        await state.repo.set_list_mapping(session, connection_id, mapping.to_stored())
    return _out(connection_id, mapping)
