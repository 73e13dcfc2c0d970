"""A status mapping decides completion from an item's place, and writes keep it true."""

from __future__ import annotations

from tether_connector_runtime.places import MappedPlace, StatusMapping
from tether_connector_runtime.port import ProviderItem
from tether_sync import TaskFields


def item(place: str, completed: bool) -> ProviderItem:
    return ProviderItem("c1", "b", place, TaskFields(title="t", completed=completed))


def test_a_mapped_place_decides_completion_and_writes_keep_it_true() -> None:
    mapping = StatusMapping(
        places={
            "todo": MappedPlace(container_id="b", completed=False),
            "done": MappedPlace(container_id="b", completed=True),
            "later": MappedPlace(container_id="b", completed=False),
        }
    )
    assert mapping.fields_of(item("done", False)).completed is True
    assert mapping.fields_of(item("todo", True)).completed is False
    assert mapping.fields_of(item("elsewhere", True)).completed is True
    # Completing moves to the container's done place; reopening leaves a done place for the
    # first not-done one; anything else stays put.
    assert mapping.placement("todo", "b", True) == "done"
    assert mapping.placement("elsewhere", "b", True) == "done"
    assert mapping.placement("done", "b", True) is None
    assert mapping.placement("done", "b", False) == "todo"
    assert mapping.placement("later", "b", False) is None
    assert mapping.placement("elsewhere", "other-board", True) is None
    for place in ("todo", "done", "elsewhere"):
        for completed in (True, False):
            moved = mapping.placement(place, "b", completed)
            after = item(moved or place, completed)
            assert mapping.fields_of(after).completed is completed  # reads back as written
    assert mapping.problems() == []
    lonely = StatusMapping(places={"d": MappedPlace(container_id="b", completed=True)})
    assert lonely.problems() == ["b has no place mapped not done"]
    assert StatusMapping.stored(mapping.to_stored()) == mapping


def test_mappings_stored_before_places_were_generic_still_read() -> None:
    stored = {
        "l1": {"board_id": "b", "completed": True},
        "l2": {"board_id": "b", "completed": False},
    }
    mapping = StatusMapping.stored(stored)
    assert mapping.place_for("b", True) == "l1"
    assert mapping.place_for("b", False) == "l2"
