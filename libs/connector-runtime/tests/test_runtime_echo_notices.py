"""A notice that only repeats a link's base (our own write coming back, as Trello's webhook
for it does) costs no read of the item; every other notice still has the item read."""

from __future__ import annotations

import pytest

from tether_connector_runtime.pipeline import observations, writes
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import ProviderItemChanged


async def test_our_own_write_coming_back_is_not_read(rig: PipelineRig, fake: FakeProvider) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed in core"))
    (_, echo) = fake.changes[-1]
    assert echo.field_values == {"title": "Renamed in core"}, "the write's own notice"
    reads = fake.reads

    await observations.observe(rig.pipeline, echo)
    await rig.relay()

    assert fake.reads == reads, "the echo needs no read"
    assert rig.events(ProviderItemChanged) == []
    assert fake.items[item_id].fields.title == "Renamed in core"


async def test_a_persons_edit_and_a_notice_naming_no_value_are_read(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    reads = fake.reads
    edited = fake.edit(item_id, title="Renamed in the provider")
    await observations.observe(rig.pipeline, edited)
    assert fake.reads == reads + 1
    moved = fake.notice(item_id)  # says which fields may have changed, not to what
    await observations.observe(rig.pipeline, moved.__class__(item_id, moved.field_edited_at))
    assert fake.reads == reads + 2
    await rig.relay()
    (change,) = rig.events(ProviderItemChanged)
    assert change.new_values == {"title": "Renamed in the provider"}


async def test_an_echo_after_a_crash_mid_write_is_read(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """With the write's intent unsettled the base is not known: the item is read."""
    await exported(rig, state(1, {"core": 1}))

    def the_process_dies() -> Exception:
        return RuntimeError("the process dies here")

    fake.fail_next("update", after_effect=True, error=the_process_dies)
    with pytest.raises(RuntimeError):
        await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed"))
    rig.restart()
    (_, echo) = fake.changes[-1]
    reads = fake.reads
    await observations.observe(rig.pipeline, echo)
    assert fake.reads == reads + 1
    await rig.relay()
    assert rig.events(ProviderItemChanged) == []  # the read settles the write as ours
