"""Client-facing connection endpoints: connect an account, list them, see export targets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.connections.client import CONNECTABLE, ConnectorClient
from api_gateway.schemas import UNAUTHORIZED, UPSTREAM

router = APIRouter(
    prefix="/v1/connections", tags=["connections"], responses={**UNAUTHORIZED, **UPSTREAM}
)


def get_connectors(request: Request) -> ConnectorClient:
    connectors: ConnectorClient = request.app.state.connectors
    return connectors


Connectors = Annotated[ConnectorClient, Depends(get_connectors)]


class ConnectionCreate(BaseModel):
    provider: Literal["trello", "asana", "jira"]
    token: str = Field(
        min_length=8,
        max_length=512,
        description="The user's token, e.g. from Trello's authorize page",
    )


class Connection(BaseModel):
    id: str
    provider: str
    account_id: str
    account_name: str
    status: str
    created_at: datetime


class ExportList(BaseModel):
    id: str
    name: str


class ExportBoard(BaseModel):
    id: str
    name: str
    lists: list[ExportList]


class Targets(BaseModel):
    boards: list[ExportBoard]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Connect a provider account",
    responses={400: {"description": "The provider rejected the token (reason given)"}},
)
async def connect(
    body: ConnectionCreate, principal: CurrentPrincipal, connectors: Connectors
) -> Connection:
    if body.provider not in CONNECTABLE:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "provider"),
                    "msg": f"{body.provider} connections are not available yet",
                    "input": body.provider,
                }
            ]
        )
    created: dict[str, Any] = await connectors.connect(
        principal.tenant_id, body.provider, body.token
    )
    return Connection.model_validate(created)


@router.get("", summary="The caller's provider connections")
async def list_connections(principal: CurrentPrincipal, connectors: Connectors) -> list[Connection]:
    return [Connection.model_validate(c) for c in await connectors.connections(principal.tenant_id)]


@router.get("/{connection_id}/targets", summary="Where tasks can be exported (boards, lists)")
async def targets(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> Targets:
    return Targets.model_validate(await connectors.targets(principal.tenant_id, connection_id))
