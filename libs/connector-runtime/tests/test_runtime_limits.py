"""Values longer than a provider takes, on the real pipeline over the fake provider: shortened
with an ellipsis within the limit, every other field still written, the shortened copy's echo
never taken for a person's edit, and a person's real edit of it still published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether_connector_runtime.pipeline import observations, retries, writes
from tether_connector_runtime.pipeline.limits import (
    ELLIPSIS,
    fitted_fields,
    shortened,
    text_length,
)
from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.scenarios import BOARD, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import ProviderItemChanged
from tether_sync import TaskFields

TITLE_LIMIT, DESCRIPTION_LIMIT = 20, 30
LONG_TITLE = "Plan the week: " + "w" * 40  # 55 characters
CUT_TITLE = LONG_TITLE[: TITLE_LIMIT - 1] + ELLIPSIS


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider(
        "jira", field_limits={"title": TITLE_LIMIT, "description": DESCRIPTION_LIMIT}
    )
    provider.add_container(BOARD)
    return provider


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(fake, f"sqlite+aiosqlite:///{tmp_path}/connector.db") as started:
        yield started


async def news(rig: PipelineRig) -> list[ProviderItemChanged]:
    await rig.relay()
    return rig.events(ProviderItemChanged)


# Shortening, pure ------------------------------------------------------------------------------
def test_a_value_within_the_limit_is_kept_and_a_longer_one_ends_in_an_ellipsis() -> None:
    assert shortened("Plan", 4) == "Plan"
    assert shortened("Plan the week", 8) == "Plan th" + ELLIPSIS
    assert shortened("Plan", 1) == ELLIPSIS


def test_a_character_beyond_the_bmp_counts_two_and_is_never_split() -> None:
    rockets = "\N{ROCKET}" * 5  # 10 UTF-16 units: a JavaScript or Java length
    assert text_length(rockets) == 10
    assert shortened(rockets, 10) == rockets
    assert shortened(rockets, 6) == "\N{ROCKET}" * 2 + ELLIPSIS  # 5 units: a third would be 7


@given(st.text(max_size=60), st.integers(min_value=1, max_value=40))
def test_a_shortened_value_fits_and_keeps_the_start_of_the_whole(value: str, limit: int) -> None:
    cut = shortened(value, limit)
    assert text_length(cut) <= limit
    if text_length(value) <= limit:
        assert cut == value
    else:
        assert cut.endswith(ELLIPSIS)
        assert value.startswith(cut[: -len(ELLIPSIS)])
        assert shortened(cut, limit) == cut  # shortening again changes nothing: stable base


def test_a_long_value_the_base_holds_whole_is_not_cut() -> None:
    long = TaskFields(title=LONG_TITLE, description="d" * 40)
    base = TaskFields(title="old", description="d" * 40)
    fitted = fitted_fields(long, {"title": TITLE_LIMIT, "description": DESCRIPTION_LIMIT}, base)
    assert (fitted.title, fitted.description) == (CUT_TITLE, "d" * 40)


# On the pipeline -------------------------------------------------------------------------------
async def test_an_export_creates_the_item_shortened_and_every_other_field_whole(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    task = state(1, {"core": 1}, title=LONG_TITLE, description="notes", completed=True)
    item_id = await exported(rig, task)

    held = fake.items[item_id].fields
    assert (held.title, held.description, held.completed) == (CUT_TITLE, "notes", True)
    link = await rig.link("link-1")
    assert link.state is not None
    assert link.state.synced_fields.title == CUT_TITLE  # the base is what the item holds
    await observations.observe(rig.pipeline, fake.notice(item_id))
    assert await news(rig) == []  # the shortened copy's echo is no person's edit


async def test_other_fields_sync_and_the_shortened_one_is_not_rewritten(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, title=LONG_TITLE))

    await writes.on_task_changed(
        rig.pipeline, state(2, {"core": 2}, title=LONG_TITLE, completed=True)
    )
    # Core's title changing after the cut shortens to the same text: nothing to write.
    await writes.on_task_changed(
        rig.pipeline, state(3, {"core": 3}, title=LONG_TITLE + " more", completed=True)
    )

    assert [u.changes for u in fake.updates] == [{"completed": True}]
    assert fake.items[item_id].fields.title == CUT_TITLE
    await observations.observe(rig.pipeline, fake.notice(item_id))
    assert await news(rig) == []


async def test_a_new_long_value_is_written_shortened_within_the_limit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    description = "A long story. " * 10

    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, description=description))

    written = fake.items[item_id].fields.description
    assert written == description[: DESCRIPTION_LIMIT - 1] + ELLIPSIS
    assert text_length(written) == DESCRIPTION_LIMIT
    await observations.observe(rig.pipeline, fake.notice(item_id))
    assert await news(rig) == []


async def test_a_persons_edit_of_a_shortened_value_is_published_as_their_edit(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}, title=LONG_TITLE))

    await observations.observe(rig.pipeline, fake.edit(item_id, title="Plan the month"))

    (change,) = await news(rig)
    assert (change.base_values, change.new_values) == (
        {"title": CUT_TITLE},
        {"title": "Plan the month"},
    )
    # With the limit, core takes the cut base for its own value: a plain edit, no conflict.
    assert change.field_limits == {"title": TITLE_LIMIT}


async def test_a_long_value_a_person_put_in_the_item_is_not_cut_by_its_echo_from_core(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    """The item holds more than the adapter's limit says (a marker's room not needed, a
    stricter count): core's merged state carrying that very value writes nothing back."""
    item_id = await exported(rig, state(1, {"core": 1}))
    longer = "d" * (DESCRIPTION_LIMIT + 10)
    await observations.observe(rig.pipeline, fake.edit(item_id, description=longer))
    (change,) = await news(rig)

    merged = state(2, {"core": 2, change.replica: 1}, description=longer)
    await writes.on_task_changed(rig.pipeline, merged)

    assert fake.updates == []
    assert fake.items[item_id].fields.description == longer


async def test_a_shortened_write_whose_answer_was_lost_is_recognised_as_ours(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    fake.fail_next("update", after_effect=True)  # the provider wrote it; the answer is lost

    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title=LONG_TITLE))
    assert fake.items[item_id].fields.title == CUT_TITLE
    assert (await rig.link("link-1")).parked is not None

    # The recorded intent is the shortened value: the item holding it is our write, and the
    # retry finds nothing left to write.
    await observations.observe(rig.pipeline, fake.notice(item_id))
    rig.clock.advance(60)
    await retries.retry_due(rig.pipeline)
    assert await news(rig) == []
    assert fake.update_count == 1
    link = await rig.link("link-1")
    assert link.parked is None
    assert link.state is not None
    assert link.state.synced_fields.title == CUT_TITLE
