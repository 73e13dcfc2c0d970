"""Reconciliation loses nothing: a container that fails (401, 5xx, an answer that crashes us)
holds up no other container of the pass and is read again from where it was; two connections
linking items on one container each get their own missed changes.

The real pipeline over the in-memory provider: webhooks are "lost" simply by never handing the
edits' notices to the pipeline, so only reconciliation can bring them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports
from tether_connector_runtime.pipeline.history import cursor_key
from tether_connector_runtime.pipeline.reconcile import reconcile_once
from tether_connector_runtime.testing import (
    CallKind,
    ErrorFactory,
    FakeProvider,
    PipelineRig,
    pipeline_rig,
    revoked,
    unavailable,
)
from tether_events import ExportRequested, ProviderItemChanged, TaskChanged, VectorClock

BOARD_1, BOARD_2 = "board-1", "board-2"


@pytest.fixture
def fake() -> FakeProvider:
    provider = FakeProvider("trello")
    provider.add_container(BOARD_1)
    provider.add_container(BOARD_2)
    return provider


@pytest.fixture
async def rig(fake: FakeProvider, tmp_path: Path) -> AsyncIterator[PipelineRig]:
    async with pipeline_rig(fake, f"sqlite+aiosqlite:///{tmp_path}/connector.db") as started:
        yield started


async def export(rig: PipelineRig, connection_id: str, task_id: str, board: str) -> str:
    """Export ``task_id`` (link ``link-<task_id>``) to ``board``; returns the item's id."""
    task = TaskChanged(
        task_id=task_id,
        tenant_id="acme",
        version=1,
        clock=VectorClock({"core": 1}),
        origin="core",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        title=f"Task {task_id}",
        description="",
        due_date=None,
        completed=False,
        deleted=False,
    )
    request = ExportRequested(
        link_id=f"link-{task_id}",
        task_id=task_id,
        tenant_id="acme",
        provider="trello",
        connection_id=connection_id,
        target={"place_id": f"{board}/todo"},
        task=task,
    )
    await exports.export(rig.pipeline, request)
    link = await rig.link(request.link_id)
    assert link.status == "active", link
    assert link.external_id is not None
    return link.external_id


async def renamed(rig: PipelineRig) -> dict[str, str]:
    """Link id -> title of every provider change published so far."""
    await rig.relay()
    return {
        str(c.link_id): str(c.new_values["title"])
        for c in rig.events(ProviderItemChanged)
        if "title" in c.new_values
    }


async def stored_cursor(rig: PipelineRig, connection_id: str, container_id: str) -> str | None:
    p = rig.pipeline
    async with transaction(p.sessions) as session:
        return await p.repo.cursor(session, cursor_key(connection_id, container_id))


def crash() -> Exception:
    return KeyError("an answer we could not read")


@pytest.mark.parametrize(
    ("error", "fails_in"),
    [
        (unavailable, "changes_since"),
        (unavailable, "read"),
        # A 401 on the board alone (the token works: the board is out of the account's
        # reach for now). A 401 on an item's read unlinks it as out of reach
        # (test_runtime_paused_links.py).
        (revoked, "changes_since"),
        (crash, "changes_since"),
    ],
)
async def test_a_failing_board_holds_up_no_other_and_keeps_its_cursor(
    rig: PipelineRig, fake: FakeProvider, error: ErrorFactory, fails_in: CallKind
) -> None:
    # A connection per board: a revoked token of one account says nothing about the other.
    first = await rig.connect("acme", "tok-a")
    second = await rig.connect("acme", "tok-b")
    item_1 = await export(rig, first, "task-1", BOARD_1)
    item_2 = await export(rig, second, "task-2", BOARD_2)
    await reconcile_once(rig.pipeline)  # each board's cursor: now
    cursor_1 = await stored_cursor(rig, first, BOARD_1)
    assert cursor_1 is not None

    fake.edit(item_1, title="Renamed on board 1")  # both webhooks lost
    fake.edit(item_2, title="Renamed on board 2")
    fake.fail_next(fails_in, error=error, container_id=BOARD_1)
    assert await reconcile_once(rig.pipeline) == 1  # board 1 failed, the pass went on
    assert await renamed(rig) == {"link-task-2": "Renamed on board 2"}
    assert await stored_cursor(rig, first, BOARD_1) == cursor_1  # read again next pass

    assert fake.faults_fired == 1
    await reconcile_once(rig.pipeline)
    assert await renamed(rig) == {
        "link-task-1": "Renamed on board 1",
        "link-task-2": "Renamed on board 2",
    }


async def test_two_connections_on_one_board_each_get_their_missed_changes(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    # Two people of one company, each with an account, export into one shared board.
    ada = await rig.connect("acme", "tok-ada")
    grace = await rig.connect("acme", "tok-grace")
    ada_item = await export(rig, ada, "task-1", BOARD_1)
    grace_item = await export(rig, grace, "task-2", BOARD_1)
    await reconcile_once(rig.pipeline)

    fake.edit(ada_item, title="Ada's card renamed")  # both webhooks lost
    fake.edit(grace_item, title="Grace's card renamed")
    assert await reconcile_once(rig.pipeline) == 2
    assert await renamed(rig) == {
        "link-task-1": "Ada's card renamed",
        "link-task-2": "Grace's card renamed",
    }


def test_a_cursor_key_fits_the_table_whatever_the_container_id() -> None:
    assert cursor_key("trello_1", "5e00") == "trello_1:5e00"
    long = cursor_key("jira_1", "x" * 200)
    assert len(long) <= 128
    assert long != cursor_key("jira_1", "x" * 199)
