"""Client-facing connection endpoints: connect an account, list them, see export targets.

The gateway judges only what it must (which provider, how much is sent); the credentials
themselves are the connector's to judge, and its 422s name the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api_gateway.auth.dependencies import CurrentPrincipal
from api_gateway.schemas import (
    CONNECTION_NOT_FOUND,
    CONNECTOR_UPSTREAM,
    UNAUTHORIZED,
    error_response,
    invalid_input_response,
)
from api_gateway.state import Connectors
from tether_contracts.connections import ConnectionOut, Targets
from tether_contracts.sync import Provider

router = APIRouter(
    prefix="/v1/connections",
    tags=["connections"],
    responses={**UNAUTHORIZED, **CONNECTOR_UPSTREAM},
)

# Bounds on what is passed on: a few short strings is all any provider's credentials are.
MAX_CREDENTIALS = 8
CredentialName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CredentialValue = Annotated[str, StringConstraints(max_length=4096)]


class ConnectionCreate(BaseModel):
    """The provider, and its credentials as the provider's connector takes them."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"provider": "trello", "token": "<user token>"},
                {"provider": "asana", "token": "<personal access token>"},
                {
                    "provider": "jira",
                    "site_url": "https://acme.atlassian.net",
                    "email": "ada@acme.test",
                    "api_token": "<API token>",
                },
            ]
        },
    )

    provider: Provider
    # Every other field is a credential, passed on as it is.
    __pydantic_extra__: dict[CredentialName, CredentialValue] = Field(init=False)

    @model_validator(mode="after")
    def _few_credentials(self) -> ConnectionCreate:
        if len(self.credentials) > MAX_CREDENTIALS:
            raise ValueError(f"at most {MAX_CREDENTIALS} credential fields besides provider")
        return self

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self.__pydantic_extra__ or {})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Connect a provider account",
    # What the connector said, no more: an older one sends no `error` at all.
    response_model_exclude_unset=True,
    description="Every field but `provider` is a credential, passed to the provider's "
    'connector as it is: Trello `{"token"}`, Asana `{"token"}`, Jira `{"site_url", "email", '
    '"api_token"}`. The connector checks them with the provider before storing them '
    "(encrypted).",
    responses={
        400: error_response("The provider refused the credentials (reason given)"),
        422: invalid_input_response(
            "An unknown provider, one this deployment runs no connector for, "
            "or a credential the connector refuses (the field is named)"
        ),
    },
)
async def connect(
    body: ConnectionCreate, principal: CurrentPrincipal, connectors: Connectors
) -> ConnectionOut:
    provider = connectors.served(body.provider, ("body", "provider"))
    return await connectors.connect(
        principal.tenant_id,
        provider,
        body.credentials,
        owner_id=principal.user_id,
        time_zone=principal.time_zone,
    )


@router.get(
    "",
    summary="The caller's provider connections",
    # What the connector said, no more: an older one sends no `error` at all.
    response_model_exclude_unset=True,
    description="From every provider this deployment connects to; `503` when one of their "
    "connectors cannot answer (a partial list would look like connections had gone).",
)
async def list_connections(
    principal: CurrentPrincipal, connectors: Connectors
) -> list[ConnectionOut]:
    return await connectors.connections(principal.tenant_id)


@router.get(
    "/{connection_id}/targets",
    summary="Where tasks can be exported",
    description="The account's containers (Trello boards, Asana projects, Jira projects) and "
    "the places in each (lists, sections, statuses).",
    responses=CONNECTION_NOT_FOUND,
)
async def targets(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> Targets:
    return await connectors.targets(principal.tenant_id, connection_id)


@router.delete(
    "/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disconnect a provider account",
    description="The connection is removed: its links stop syncing (they turn `unlinked`; the "
    "tasks and the provider's items stay as they are), its webhooks are forgotten, and the "
    "grant is revoked at the provider where the provider offers that (Asana's OAuth); a "
    "revocation that fails is logged, never a reason to keep the connection.",
    responses=CONNECTION_NOT_FOUND,
)
async def disconnect(
    connection_id: str, principal: CurrentPrincipal, connectors: Connectors
) -> None:
    await connectors.disconnect(principal.tenant_id, connection_id)
