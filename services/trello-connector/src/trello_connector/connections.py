"""Connections: a user's Trello token, checked with Trello and stored encrypted; and what a
user can export into (boards and their lists). Internal API, called by the gateway. A token
comes pasted (here) or through Trello's OAuth 1.0a consent page (oauth.py)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tether_common.db import transaction
from tether_common.errors import DomainError, NotFound
from tether_connector_runtime.retry import (
    AuthRevokedError,
    PermanentProviderError,
    RetryableProviderError,
)
from trello_connector.state import TrelloState, trello_state

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}/connections", tags=["connections"])
State = Annotated[TrelloState, Depends(trello_state)]


class TokenRejected(DomainError):
    status_code = 400
    code = "token_rejected"


class TrelloUnavailable(DomainError):
    """Trello is unreachable, failing or rate limiting: the same request may work later."""

    status_code = 503
    code = "provider_unavailable"


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class ConnectionCreate(BaseModel):
    token: str = Field(min_length=8, max_length=512, description="A Trello user token")


class ConnectionOut(BaseModel):
    id: str
    provider: str = "trello"
    account_id: str
    account_name: str
    status: str
    created_at: datetime


class TrelloList(BaseModel):
    id: str
    name: str


class TrelloBoard(BaseModel):
    id: str
    name: str
    lists: list[TrelloList]


class Targets(BaseModel):
    boards: list[TrelloBoard]


def _out(row: Any) -> ConnectionOut:
    return ConnectionOut(
        id=row.id,
        account_id=row.account_id,
        account_name=row.account_name,
        status=row.status,
        created_at=row.created_at,
    )


async def store_connection(state: TrelloState, tenant_id: str, token: str) -> ConnectionOut:
    """Check a user token with Trello, then keep it encrypted. Every way of connecting (a
    pasted token, the OAuth flow) ends here, so all answer the same."""
    try:
        member = await state.client(token).me()
    except (AuthRevokedError, PermanentProviderError) as exc:
        raise TokenRejected(f"Trello rejected the token: {exc}") from exc
    except RetryableProviderError as exc:
        raise TrelloUnavailable(str(exc)) from exc
    connection_id = f"trello_{secrets.token_hex(12)}"
    async with transaction(state.sessions) as session:
        await state.repo.add_connection(
            session,
            id=connection_id,
            tenant_id=tenant_id,
            account_id=str(member["id"]),
            account_name=str(member.get("username") or member.get("fullName") or ""),
            token_encrypted=state.cipher.encrypt(token),
            status="active",
        )
        row = await state.repo.connection(session, connection_id)
    return _out(row)


@router.post("", status_code=201, response_model=ConnectionOut)
async def connect(tenant_id: str, body: ConnectionCreate, state: State) -> ConnectionOut:
    return await store_connection(state, tenant_id, body.token)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(tenant_id: str, state: State) -> list[ConnectionOut]:
    async with transaction(state.sessions) as session:
        rows = await state.repo.connections_of(session, tenant_id)
    return [_out(r) for r in rows]


async def tenant_connection(state: TrelloState, tenant_id: str, connection_id: str) -> Any:
    """The connection's row, if it is this tenant's: another tenant's is simply not found."""
    async with transaction(state.sessions) as session:
        row = await state.repo.connection(session, connection_id)
    if row is None or row.tenant_id != tenant_id:
        raise ConnectionNotFound(f"no Trello connection {connection_id}")
    return row


@router.get("/{connection_id}/targets", response_model=Targets)
async def targets(tenant_id: str, connection_id: str, state: State) -> Targets:
    row = await tenant_connection(state, tenant_id, connection_id)
    client = state.client(state.cipher.decrypt(row.token_encrypted))
    boards = []
    for board in await client.boards():
        lists = await client.lists(str(board["id"]))
        boards.append(
            TrelloBoard(
                id=str(board["id"]),
                name=str(board["name"]),
                lists=[
                    TrelloList(id=str(x["id"]), name=str(x["name"]))
                    for x in lists
                    if not x.get("closed")
                ],
            )
        )
    return Targets(boards=boards)
