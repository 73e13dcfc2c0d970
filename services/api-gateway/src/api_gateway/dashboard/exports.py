"""Exporting a task from the dashboard: where it can go (each connection's places, as its
connector lists them with the export target that reaches each), and the export itself, made
through the same call as ``POST /v1/tasks/{id}/exports``.

The places are read only when asked for (a button on the task's page): listing them reads the
provider (Trello's boards and lists, Asana's projects and sections, Jira's projects and issue
types), which no page view should spend a rate limit on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from api_gateway.auth.service import Principal
from api_gateway.state import GatewayState
from api_gateway.tasks.links import export_task
from api_gateway.tasks.sync_schemas import ExportCreate
from tether_common.errors import DomainError
from tether_contracts.connections import ConnectionOut
from tether_contracts.sync import LinkOut


@dataclass(frozen=True)
class Destination:
    """One place a task can be exported to: the option's label and its form value (the
    export request's body, as JSON)."""

    label: str
    value: str


@dataclass(frozen=True)
class ConnectionDestinations:
    connection: ConnectionOut
    destinations: list[Destination]
    error: str | None = None  # why its places could not be read


async def destinations(state: GatewayState, tenant_id: str) -> list[ConnectionDestinations]:
    """Per connection of the tenant (a broken one left out: an export through it is refused),
    every place whose export target its connector names. Raises DomainError when the
    connections themselves cannot be listed."""
    found = []
    for connection in await state.connectors.connections(tenant_id):
        if connection.status == "broken":
            continue
        try:
            targets = await state.connectors.targets(tenant_id, connection.id)
        except DomainError as exc:
            found.append(ConnectionDestinations(connection, [], f"{exc.code}: {exc}"))
            continue
        options = [
            Destination(
                f"{container.name} / {place.name}",
                json.dumps({"connection_id": connection.id, "target": place.target}),
            )
            for container in targets.containers
            for place in [*container.places, *container.kinds]
            if place.target is not None
        ]
        found.append(ConnectionDestinations(connection, options))
    return found


class ChoiceInvalid(DomainError):
    status_code = 422
    code = "invalid_input"


def export_request(choice: str) -> ExportCreate:
    """The export request a destination's form value carries; ChoiceInvalid when it is none
    (no choice made, or a value no option had)."""
    try:
        return ExportCreate.model_validate_json(choice)
    except ValidationError as exc:
        raise ChoiceInvalid("Choose where to export the task.") from exc


async def export(state: GatewayState, principal: Principal, task_id: str, choice: str) -> LinkOut:
    """Export the task where ``choice`` says: the API's own export (the connection checked
    with its connector, then the link registered in task-core, ``pending``). Raises
    DomainError as the API would answer it."""
    request = export_request(choice)
    return await export_task(task_id, request, principal, state.task_core, state.connectors)
