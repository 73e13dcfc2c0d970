"""An item a person moves to another container (Trello: a card moved to another board) is
followed there; moved where the account cannot see it, it is unlinked and the task flagged,
never left linked and silent."""

from __future__ import annotations

from tether_common.db import transaction
from tether_connector_runtime.pipeline import observations, reconcile
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import ProviderItemChanged


async def test_an_item_moved_to_another_container_is_followed_there(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await reconcile.reconcile_once(rig.pipeline)  # the first board's cursor: now

    await observations.observe(rig.pipeline, fake.move_to_container(item_id, "board-2"))
    link = await rig.link("link-1")
    assert link.container_id == "board-2"
    assert "board-2" in fake.webhooks_registered

    # Its later edits come from the new board: reconciliation reads that one now.
    fake.edit(item_id, title="Renamed on board 2")  # the webhook is lost
    await reconcile.reconcile_once(rig.pipeline)
    await rig.relay()
    changes = [e for e in rig.events(ProviderItemChanged) if "title" in e.new_values]
    assert [c.new_values["title"] for c in changes] == ["Renamed on board 2"]


async def test_an_item_moved_out_of_the_accounts_reach_is_unlinked_as_such(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    fake.add_container("board-private")
    fake.out_of_reach.add("board-private")

    await observations.observe(rig.pipeline, fake.move_to_container(item_id, "board-private"))
    await rig.relay()

    assert (await rig.link("link-1")).status == "unlinked"
    (gone,) = [e for e in rig.events(ProviderItemChanged) if e.deleted]
    assert gone.gone == "out_of_reach"
    async with transaction(rig.pipeline.sessions) as session:
        row = await rig.pipeline.repo.connection(session, connection_id)
    assert row is not None
    assert row.status == "active"  # the token still works: nothing else stops
