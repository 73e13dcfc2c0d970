"""A connection's status mapping (places that mean done / not done): read and replace."""

from __future__ import annotations

from fastapi import APIRouter

from tether_common.db import transaction
from tether_connector_runtime.api.errors import ProviderUnavailable, invalid, provider_of
from tether_connector_runtime.places import MappedPlace, StatusMapping
from tether_connector_runtime.retry import PermanentProviderError, RetryableProviderError
from tether_connector_runtime.state import State
from tether_contracts.connections import MappedPlace as MappedPlaceOut
from tether_contracts.connections import StatusMappingBody, StatusMappingOut

router = APIRouter(
    prefix="/internal/v1/tenants/{tenant_id}/connections/{connection_id}/status-mapping",
    tags=["connections"],
)


def _out(connection_id: str, mapping: StatusMapping) -> StatusMappingOut:
    return StatusMappingOut(
        connection_id=connection_id,
        places=[
            MappedPlaceOut(
                place_id=k,
                container_id=v.container_id,
                meaning="done" if v.completed else "not_done",
            )
            for k, v in mapping.places.items()
        ],
    )


@router.get("", response_model=StatusMappingOut)
async def read(tenant_id: str, connection_id: str, state: State) -> StatusMappingOut:
    row = await state.connections.of_tenant(tenant_id, connection_id)
    return _out(connection_id, StatusMapping.stored(row.list_mapping))


@router.put("", response_model=StatusMappingOut)
async def replace(
    tenant_id: str, connection_id: str, body: StatusMappingBody, state: State
) -> StatusMappingOut:
    row = await state.connections.of_tenant(tenant_id, connection_id)
    provider = await provider_of(state, row)
    places: dict[str, MappedPlace] = {}
    for place_id, meaning in body.places.items():
        # Each place must be one this account can see: its container is where moves happen.
        try:
            found = await provider.place(place_id)
        except PermanentProviderError as exc:
            name = state.adapter.provider.capitalize()
            raise invalid(
                f"{name} does not know place {place_id} for this account",
                "places",
                place_id,
                value=place_id,
            ) from exc
        except RetryableProviderError as exc:
            raise ProviderUnavailable(str(exc)) from exc
        places[place_id] = MappedPlace(container_id=found.container_id, completed=meaning == "done")
    mapping = StatusMapping(places=places)
    if problems := mapping.problems():
        # Completing a task moves its item to a done place, reopening it to a not-done one:
        # a container with only one kind could not keep the item's place and the task in step.
        raise invalid("; ".join(problems), "places")
    async with transaction(state.pipeline.sessions) as session:
        await state.pipeline.repo.set_list_mapping(session, connection_id, mapping.to_stored())
    return _out(connection_id, mapping)
