"""A place moved to another container with its items, which the provider does not name
(Trello's list moves): found in the old container's history, every linked item there is
looked at and those now elsewhere are followed (place_moves.py)."""

from __future__ import annotations

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, reconcile
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import BOARD, TO_DO_LIST, export_request
from tether_connector_runtime.testing.scenarios import task_state as state

OTHER = "board-2"
DONE = f"{BOARD}/done"


@pytest.fixture
def fake() -> FakeProvider:
    """Trello-like: its history names every edit, and each board's is read from the first
    export into it (or the first item followed there)."""
    provider = FakeProvider("trello", writes_unread=True)
    provider.add_container(BOARD)
    provider.add_container(OTHER)
    return provider


async def _export(rig: PipelineRig, connection_id: str, n: int, place_id: str) -> None:
    task = state(1, {"core": 1}, task_id=f"task-{n}")
    request = export_request(connection_id, task, link_id=f"link-{n}", place_id=place_id)
    await exports.export(rig.pipeline, request)
    assert (await rig.link(f"link-{n}")).status == "active"


async def test_a_polled_place_move_takes_the_links_of_its_items_along(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    await _export(rig, connection_id, 1, TO_DO_LIST)
    await _export(rig, connection_id, 2, TO_DO_LIST)
    await _export(rig, connection_id, 3, DONE)
    await reconcile.reconcile_once(rig.pipeline)  # the creations, read from the history
    assert len(rig.pipeline.placements) == 2
    reads = fake.reads

    fake.move_place(TO_DO_LIST, OTHER)  # no item is named; their webhooks name nothing
    await reconcile.reconcile_once(rig.pipeline)

    containers = [(await rig.link(f"link-{n}")).container_id for n in (1, 2, 3)]
    assert containers == [OTHER, OTHER, BOARD]
    assert fake.reads == reads + 3, "every linked item of the old board looked at, once"
    async with transaction(rig.pipeline.sessions) as session:
        hook = await rig.pipeline.repo.webhook_for(session, connection_id, OTHER)
    assert hook is not None, "the new board is watched"
    assert len(rig.pipeline.placements) == 1, "the answer naming the moved place dropped"

    await reconcile.reconcile_once(rig.pipeline)
    assert fake.reads == reads + 3, "the move is read once; the new board's history followed"
