"""The client's export request; the history, conflict and link models it answers with are
shared with task-core in ``tether_contracts.sync``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tether_contracts.sync import ConnectionId, Provider, Target

PROVIDERS: tuple[Provider, ...] = ("trello", "asana", "jira")


class ExportCreate(BaseModel):
    """A client's export request; the provider is the connection id's prefix."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"connection_id": "trello_9f2c41d7", "target": {"list_id": "5f1c..."}}]
        },
    )

    connection_id: ConnectionId = Field(
        description="A connection to a provider account, as its connector minted it: "
        "`<provider>_<id>` (trello_, asana_ or jira_)"
    )
    target: Target

    @field_validator("connection_id")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        provider, sep, rest = value.partition("_")
        if not sep or not rest or provider not in PROVIDERS:
            raise ValueError(
                "must be a connection id <provider>_<id> of trello, asana or jira, "
                "e.g. trello_9f2c41d7"
            )
        return value

    @property
    def provider(self) -> Provider:
        provider = self.connection_id.partition("_")[0]
        return next(p for p in PROVIDERS if p == provider)
