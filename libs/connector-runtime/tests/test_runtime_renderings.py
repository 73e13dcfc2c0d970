"""A provider that stores a field in a format of its own answers our value back spelled its
way (Asana: ``__bold__`` comes back ``**bold**``). On the real pipeline over the fake
provider: that spelling of our write is never published as an edit (no normalising change
drifts into core), core's value is never rewritten for it, and a person's real edit still is
news."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.pipeline import observations, writes
from tether_connector_runtime.pipeline.renderings import recognised
from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.scenarios import BOARD, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import ProviderItemChanged
from tether_sync import FieldValue, TaskFields

CORE_SPELLING = "Agenda: __bold__ and _it_"
PROVIDER_SPELLING = "Agenda: **bold** and *it*"


def canonical(value: FieldValue) -> FieldValue:
    """The fake provider's rendering: emphasis spelled with asterisks."""
    return value.replace("__", "**").replace("_", "*") if isinstance(value, str) else value


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("asana", renderings={"description": canonical})
    provider.add_container(BOARD)
    return provider


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(fake, f"sqlite+aiosqlite:///{tmp_path}/connector.db") as started:
        yield started


async def news(rig: PipelineRig) -> list[ProviderItemChanged]:
    await rig.relay()
    return rig.events(ProviderItemChanged)


def test_a_value_is_recognised_only_as_the_rendering_of_a_known_one(fake: FakeProvider) -> None:
    base = TaskFields(title="Plan", description=CORE_SPELLING)
    echo = TaskFields(title="Plan", description=PROVIDER_SPELLING)
    assert recognised(fake, Owner(), echo, base) == base
    edited = TaskFields(title="Plan", description=PROVIDER_SPELLING + " more")
    assert recognised(fake, Owner(), edited, base) == edited  # a person's text is theirs
    # A write under way is checked first: its value is what the item now holds.
    written = TaskFields(title="Plan", description="__new__")
    assert recognised(
        fake, Owner(), TaskFields(title="Plan", description="**new**"), written, base
    ) == (written)


async def test_the_echo_of_an_export_in_the_providers_spelling_is_no_edit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, description=CORE_SPELLING))
    assert fake.items[item_id].fields.description == PROVIDER_SPELLING  # stored its way
    await observations.observe(rig.pipeline, fake.notice(item_id))
    assert await news(rig) == []
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.description == CORE_SPELLING  # core's value stays the base


async def test_core_resending_its_spelling_writes_nothing_and_other_fields_still_sync(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, description=CORE_SPELLING))
    await writes.on_task_changed(
        rig.pipeline, state(2, {"core": 2}, description=CORE_SPELLING, completed=True)
    )
    assert [u.changes for u in fake.updates] == [{"completed": True}]
    await observations.observe(rig.pipeline, fake.notice(item_id))
    assert await news(rig) == []


async def test_a_persons_edit_of_the_rendered_text_is_published(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, description=CORE_SPELLING))
    notice = fake.edit(item_id, description=PROVIDER_SPELLING + " (moved to Friday)")
    await observations.observe(rig.pipeline, notice)
    [change] = await news(rig)
    assert change.new_values == {"description": PROVIDER_SPELLING + " (moved to Friday)"}
    assert change.base_values == {"description": CORE_SPELLING}
