"""Links that wait for a person, on the real pipeline over the fake provider: an item archived
in the provider and restored, a task exported again to its archived item, a connection whose
credentials the provider refuses and its repair, and a held deletion withdrawn."""

from __future__ import annotations

from pathlib import Path

from tether_common.db import transaction
from tether_connector_runtime.pipeline import (
    exports,
    observations,
    reconcile,
    removals,
    retries,
    writes,
)
from tether_connector_runtime.testing import FakeProvider, PipelineRig, pipeline_rig, revoked
from tether_connector_runtime.testing.scenarios import export_request, exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import LinkChanged, ProviderItemChanged


async def archived(rig: PipelineRig, fake: FakeProvider) -> str:
    """Task-1 exported, then its item archived by a person and observed; the item's id."""
    item_id = await exported(rig, state(1, {"core": 1}))
    await observations.observe(rig.pipeline, fake.close(item_id))
    await rig.relay()
    return item_id


# Archive and restore ---------------------------------------------------------------------------
async def test_an_archived_item_pauses_its_link_and_nothing_is_written_to_it(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await archived(rig, fake)

    assert (await rig.link("link-1")).status == "paused"
    news = rig.events(LinkChanged)[-1]
    assert (news.status, news.reason) == ("paused", "item_archived")
    assert news.error is not None
    assert "restore it" in news.error
    writes_before = fake.update_count
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    assert fake.update_count == writes_before
    assert fake.calls["update"] == 0


async def test_restoring_the_item_resumes_its_link_with_the_clock_it_reflects(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await archived(rig, fake)
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))

    await observations.observe(rig.pipeline, fake.reopen(item_id))
    await rig.relay()

    assert (await rig.link("link-1")).status == "active"
    news = rig.events(LinkChanged)[-1]
    assert news.status == "active"
    # The item reflects version 1: core compares and re-sends version 2, which is written.
    assert news.synced_clock is not None
    assert news.synced_clock.to_dict() == {"core": 1}
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    assert fake.items[item_id].fields.title == "v2"


async def test_a_deleted_task_still_archives_a_paused_links_item_for_good(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await archived(rig, fake)
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, deleted=True))
    await rig.relay()

    assert (await rig.link("link-1")).status == "archived"
    assert rig.events(LinkChanged)[-1].status == "archived"


async def test_exporting_again_restores_the_archived_item_instead_of_making_another(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await archived(rig, fake)
    connection_id = (await rig.link("link-1")).connection_id

    again = export_request(connection_id, state(3, {"core": 3}, title="Plan the month"))
    await exports.export(rig.pipeline, again)
    assert (await rig.link("link-1")).status == "restoring"
    await retries.retry_due(rig.pipeline)
    await rig.relay()

    assert fake.creates == 1
    assert not fake.items[item_id].closed
    assert fake.items[item_id].fields.title == "Plan the month"
    assert (await rig.link("link-1")).status == "active"
    assert rig.events(LinkChanged)[-1].status == "active"


async def test_exporting_again_to_an_item_deleted_meanwhile_makes_a_new_one(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await archived(rig, fake)
    connection_id = (await rig.link("link-1")).connection_id
    fake.delete(item_id)

    await exports.export(rig.pipeline, export_request(connection_id, state(2, {"core": 2})))
    await retries.retry_due(rig.pipeline)

    link = await rig.link("link-1")
    assert link.status == "active"
    assert link.external_id not in (None, item_id)
    assert fake.creates == 2


# A connection the provider refuses, and its repair ---------------------------------------------
async def test_a_broken_connection_pauses_its_links_and_asks_the_provider_nothing(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}), token="tok-a")
    await exported(rig, state(1, {"core": 1}, task_id="task-2"), link_id="link-2")
    fake.revoked_tokens.add("tok-a")
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()

    paused = {e.link_id for e in rig.events(LinkChanged) if e.status == "paused"}
    assert paused == {"link-1", "link-2"}
    calls = sum(fake.calls.values())
    # Edits keep coming; time passes beyond every retry: nothing reaches the provider.
    await writes.on_task_changed(rig.pipeline, state(3, {"core": 3}, title="v3"))
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, task_id="task-2", title="two"))
    rig.clock.advance(2 * 86_400)
    assert await retries.retry_due(rig.pipeline) == 0
    assert sum(fake.calls.values()) == calls
    link = await rig.link("link-1")
    assert link.parked is not None  # nothing dropped
    assert link.status == "active"


async def test_reconnecting_the_account_repairs_the_connection_and_catches_up(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}), token="tok-a")
    await exported(rig, state(1, {"core": 1}, task_id="task-2"), link_id="link-2")
    connection_id = (await rig.link("link-1")).connection_id
    fake.revoked_tokens.add("tok-a")
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    rig.clock.advance(2 * 86_400)  # longer than the retry limit: the break does not count

    fake.revoked_tokens.discard("tok-a")
    assert await rig.connect("acme", "tok-a") == connection_id  # the same connection
    await retries.retry_due(rig.pipeline)
    await rig.relay()

    async with transaction(rig.pipeline.sessions) as session:
        row = await rig.pipeline.repo.connection(session, connection_id)
    assert row is not None
    assert (row.status, row.broken_since) == ("active", None)
    assert fake.items[item_id].fields.title == "v2"
    resumed = {e.link_id for e in rig.events(LinkChanged) if e.status == "active"}
    assert {"link-1", "link-2"} <= resumed
    # link-2 had nothing parked: its "active" carries the clock its item reflects, so core
    # re-sends an edit made while the connection was broken.
    last_of_2 = [e for e in rig.events(LinkChanged) if e.link_id == "link-2"][-1]
    assert last_of_2.status == "active"
    assert last_of_2.synced_clock is not None


async def test_a_revoked_grant_seen_on_an_export_breaks_the_connection_once(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    fake.revoked_tokens.add("tok-a")
    await exports.export(rig.pipeline, export_request(connection_id, state(1, {"core": 1})))
    await exports.export(
        rig.pipeline,
        export_request(connection_id, state(1, {"core": 1}, task_id="task-2"), link_id="link-2"),
    )
    await rig.relay()

    async with transaction(rig.pipeline.sessions) as session:
        row = await rig.pipeline.repo.connection(session, connection_id)
    assert row is not None
    assert row.status == "broken"
    assert row.broken_since is not None
    assert fake.calls["resolve"] == 1  # the second export never asked
    assert {e.link_id for e in rig.events(LinkChanged) if e.status == "retrying"} == {
        "link-1",
        "link-2",
    }


# The deletion brake: a held deletion whose item turns up again is withdrawn -------------------
async def test_a_held_deletion_whose_item_turns_up_again_is_withdrawn(
    fake: FakeProvider, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/brake.db"
    async with pipeline_rig(fake, url, deletion_burst_threshold=1) as rig:
        await exported(rig, state(1, {"core": 1}))
        second = await exported(rig, state(1, {"core": 1}, task_id="task-2"), link_id="link-2")
        connection_id = (await rig.link("link-1")).connection_id
        await observations.observe(rig.pipeline, fake.delete(await item_of(rig, "link-1")))
        kept = fake.items[second]
        await observations.observe(rig.pipeline, fake.delete(second))  # a read that lied
        assert (await rig.link("link-1")).status == "unlinked"
        assert (await rig.link("link-2")).status == "active"  # held for a person

        fake.items[second] = kept  # the item was there all along
        assert await removals.confirm_deletions(rig.pipeline, connection_id) == (0, 1)
        assert (await rig.link("link-2")).status == "active"


async def item_of(rig: PipelineRig, link_id: str) -> str:
    external_id = (await rig.link(link_id)).external_id
    assert external_id is not None
    return external_id


async def test_reconciliation_notices_a_restored_item_and_a_revoked_grant(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await archived(rig, fake)
    fake.reopen(item_id)  # no webhook comes: the next poll sees it
    await reconcile.reconcile_once(rig.pipeline)
    await rig.relay()
    assert (await rig.link("link-1")).status == "active"

    fake.revoked_tokens.add("tok-a")
    await reconcile.reconcile_once(rig.pipeline)
    await rig.relay()
    news = rig.events(LinkChanged)[-1]
    assert (news.status, news.reason) == ("paused", "connection_broken")
    calls = sum(fake.calls.values())
    await reconcile.reconcile_once(rig.pipeline)  # a broken connection is asked nothing
    assert sum(fake.calls.values()) == calls


async def test_a_401_for_one_item_alone_unlinks_it_and_keeps_the_connection(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    item_id = await exported(rig, state(1, {"core": 1}))
    connection_id = (await rig.link("link-1")).connection_id
    fake.fail_next("read", error=revoked)  # the token is fine: only this read is refused

    await observations.observe(rig.pipeline, fake.notice(item_id))
    await rig.relay()

    assert (await rig.link("link-1")).status == "unlinked"
    (gone,) = [e for e in rig.events(ProviderItemChanged) if e.deleted]
    assert gone.gone == "out_of_reach"
    async with transaction(rig.pipeline.sessions) as session:
        row = await rig.pipeline.repo.connection(session, connection_id)
    assert row is not None
    assert row.status == "active"


async def test_connecting_a_working_account_again_registers_its_webhooks_anew(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}), token="tok-a")
    assert fake.calls["ensure_webhook"] == 1
    connection_id = (await rig.link("link-1")).connection_id

    # The provider may have lost them (the emulator restarted empty, say).
    assert await rig.connect("acme", "tok-a") == connection_id
    async with transaction(rig.pipeline.sessions) as session:
        assert await rig.pipeline.repo.webhook_for(session, connection_id, "board-1") is None
    await reconcile.reconcile_once(rig.pipeline)
    assert fake.calls["ensure_webhook"] == 2


async def test_an_edit_after_the_connection_broke_leaves_its_link_paused(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}), token="tok-a")
    fake.revoked_tokens.add("tok-a")
    await reconcile.reconcile_once(rig.pipeline)  # the break is seen here first
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="v2"))
    await rig.relay()

    last = [e for e in rig.events(LinkChanged) if e.link_id == "link-1"][-1]
    assert (last.status, last.reason) == ("paused", "connection_broken")
    assert (await rig.link("link-1")).parked is not None  # the edit waits for a reconnect
