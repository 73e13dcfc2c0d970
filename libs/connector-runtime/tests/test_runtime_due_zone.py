"""A link remembers the zone its item's due was last written in (where a date-only due falls
on an instant-only provider), saved with the base it belongs to, and every session that reads
the link's item is handed it beside the owner's current zone; on the real pipeline over the
fake provider, with the webhook notice's due read again in those zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tether_connector_runtime.connections import ConnectionOwner
from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.pipeline import exports, observations, writes
from tether_connector_runtime.port import ItemNotice
from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig
from tether_connector_runtime.testing.fake_provider import FakeCredentials
from tether_connector_runtime.testing.scenarios import BOARD, export_request
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_sync import TaskFields

AUCKLAND, HONOLULU = ZoneInfo("Pacific/Auckland"), ZoneInfo("Pacific/Honolulu")


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("trello")
    provider.add_container(BOARD)
    return provider


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(fake, f"sqlite+aiosqlite:///{tmp_path}/connector.db") as started:
        yield started


async def export_as_ann(rig: PipelineRig, zone: str) -> str:
    account = await rig.fake.authenticate(FakeCredentials(token="tok-a"))
    owner = ConnectionOwner(owner_id="ann", time_zone=zone)
    connection = await rig.state.connections.store("acme", account, owner)
    task = state(1, {"core": 1}, due_date=date(2026, 12, 1))
    await exports.export(rig.pipeline, export_request(connection.id, task))
    link = await rig.link("link-1")
    assert link.external_id is not None
    return link.external_id


async def test_the_zone_of_the_last_due_write_is_kept_and_handed_to_the_reading_session(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await export_as_ann(rig, "Pacific/Auckland")
    assert (await rig.link("link-1")).due_zone == "Pacific/Auckland"
    await rig.state.connections.set_owner_zone("acme", "ann", "Pacific/Honolulu")

    await observations.observe(rig.pipeline, fake.edit(item_id, title="Plan the month"))
    assert fake.owners[-1] == Owner(zone=HONOLULU, written_in=AUCKLAND)
    assert fake.owners[-1].reading_zones == (AUCKLAND, HONOLULU)

    # A write that leaves the due alone leaves its zone; one that sets it moves it.
    titled = state(3, {"core": 3, f"trello:{item_id}": 1}, title="Plan", due_date=date(2026, 12, 1))
    await writes.on_task_changed(rig.pipeline, titled)
    assert fake.updates[-1].changes == {"title": "Plan"}
    assert (await rig.link("link-1")).due_zone == "Pacific/Auckland"
    moved = state(4, {"core": 4, f"trello:{item_id}": 1}, title="Plan", due_date=date(2026, 12, 5))
    await writes.on_task_changed(rig.pipeline, moved)
    assert fake.updates[-1].changes == {"due": date(2026, 12, 5)}
    assert (await rig.link("link-1")).due_zone == "Pacific/Honolulu"


def test_a_notices_due_read_in_utc_is_read_again_in_the_links_zones() -> None:
    # Dec 3, 12:00 in Auckland, as a webhook parsed in UTC gives it: an instant.
    noon_in_auckland = datetime(2026, 12, 2, 23, tzinfo=UTC)
    notice = ItemNotice(
        "card-1",
        {"due": datetime(2026, 12, 2, 23, 5, tzinfo=UTC)},
        {"due": noon_in_auckland},
        due_read_in=ZoneInfo("UTC"),
    )
    card = TaskFields(title="Plan", due=date(2026, 12, 3))
    assert notice.read_in((AUCKLAND,)).times_still_true(card) == notice.field_edited_at
    assert notice.read_in((HONOLULU,)).times_still_true(card) == {}
    assert notice.read_in((HONOLULU, AUCKLAND)).times_still_true(card) == notice.field_edited_at
    # Unread in the card's zones, the UTC reading names no value the card holds.
    assert notice.times_still_true(card) == {}
    # A notice whose due needs no zone (a provider with real dates) is compared as it is.
    plain = ItemNotice("card-1", notice.field_edited_at, {"due": date(2026, 12, 3)})
    assert plain.read_in((HONOLULU,)).times_still_true(card) == notice.field_edited_at
