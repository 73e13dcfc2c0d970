"""Per connection, an optional status mapping: places (Trello lists, Asana sections, Jira
statuses) that mean done / not done.

Many teams say "done" by where an item sits (a Done column) rather than a checkbox. With a
mapping, an item's place decides: in a place mapped done its task is completed, in one mapped
not done it is open; in an unmapped place the provider's own flag decides, as without a mapping.
Writes keep that reading true (or our own write would come back as a person's edit): completing
a task moves its item to the container's done place; reopening a task whose item sits in a done
place moves it to the container's first not-done place. Hence every container in a mapping
needs both.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from tether_connector_runtime.port import ProviderItem
from tether_sync import TaskFields


class MappedPlace(BaseModel):
    model_config = ConfigDict(frozen=True)

    container_id: str
    completed: bool


class StatusMapping(BaseModel):
    """Place id -> its container and meaning; insertion order is preference order."""

    model_config = ConfigDict(frozen=True)

    places: dict[str, MappedPlace] = {}

    @classmethod
    def stored(cls, raw: Any) -> StatusMapping:
        """From the connection row; rows written before places were generic said board_id."""
        places = {
            k: {"container_id": v.get("container_id", v.get("board_id")), **v}
            for k, v in (raw or {}).items()
        }
        return cls.model_validate({"places": places})

    def to_stored(self) -> dict[str, Any]:
        return {k: v.model_dump() for k, v in self.places.items()}

    def completed_in(self, place_id: str | None) -> bool | None:
        mapped = self.places.get(place_id or "")
        return None if mapped is None else mapped.completed

    def place_for(self, container_id: str, completed: bool) -> str | None:
        return next(
            (
                k
                for k, v in self.places.items()
                if v.container_id == container_id and v.completed == completed
            ),
            None,
        )

    def fields_of(self, item: ProviderItem) -> TaskFields:
        """The item's fields as core sees them: a mapped place decides completion."""
        mapped = self.completed_in(item.place_id)
        if mapped is None or mapped == item.fields.completed:
            return item.fields
        return item.fields.model_copy(update={"completed": mapped})

    def placement(self, place_id: str | None, container_id: str, completed: bool) -> str | None:
        """The place an item in ``place_id`` must move to so that it reads ``completed``, or
        None when it may stay."""
        mapped = self.completed_in(place_id)
        if completed and mapped is not True:
            return self.place_for(container_id, True)  # None: no done place, the flag says it
        if not completed and mapped is True:
            return self.place_for(container_id, False)
        return None

    def problems(self) -> list[str]:
        """Why this mapping cannot be kept true in some container (empty when it can)."""
        found = []
        for container in sorted({v.container_id for v in self.places.values()}):
            for completed, name in ((True, "done"), (False, "not done")):
                if self.place_for(container, completed) is None:
                    found.append(f"{container} has no place mapped {name}")
        return found
