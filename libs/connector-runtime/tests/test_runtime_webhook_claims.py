"""Exports in flight at once to one container register its webhook once: the first claims the
webhook's row, the others find it claimed and leave it to them. A registration that fails
gives its claim back, and one that never finishes (a crash) loses it once the lease runs out,
so the next export or reconciliation registers it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tether_common.db import transaction
from tether_connector_runtime.pipeline import exports, watching
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import BOARD, export_request
from tether_connector_runtime.testing.scenarios import task_state as state

EXPORTS = 8


async def webhook_row(rig: PipelineRig, connection_id: str) -> Any:
    async with transaction(rig.pipeline.sessions) as session:
        return await rig.pipeline.repo.webhook_for(session, connection_id, BOARD)


async def export_task(rig: PipelineRig, connection_id: str, n: int) -> None:
    task = state(1, {"core": 1}, task_id=f"task-{n}", title=f"Task {n}")
    request = export_request(connection_id, task, link_id=f"link-{n}")
    await exports.export(rig.pipeline, request)
    assert (await rig.link(request.link_id)).status == "active"


async def test_concurrent_first_exports_register_one_webhook(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    first = fake.hold("ensure_webhook", container_id=BOARD)
    registering = asyncio.create_task(export_task(rig, connection_id, 0))
    await first.wait_reached()  # the first export is inside the provider's registration

    # The others run to their end while the first is held: none may ask the provider again.
    await asyncio.gather(*(export_task(rig, connection_id, n) for n in range(1, EXPORTS)))
    first.release()
    await registering

    assert fake.calls["ensure_webhook"] == 1
    assert fake.webhook_refreshes[BOARD] == 0
    row = await webhook_row(rig, connection_id)
    assert row.external_webhook_id == f"hook-{BOARD}"


async def test_a_failed_registration_gives_its_claim_back(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    fake.fail_next("ensure_webhook")
    await watching.ensure_webhook(rig.pipeline, connection_id, BOARD)
    assert (await webhook_row(rig, connection_id)).external_webhook_id is None

    await watching.ensure_webhook(rig.pipeline, connection_id, BOARD)

    assert fake.calls["ensure_webhook"] == 2
    assert (await webhook_row(rig, connection_id)).external_webhook_id == f"hook-{BOARD}"


async def test_a_registration_that_never_finished_is_retried_after_its_lease(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    held = fake.hold("ensure_webhook", container_id=BOARD)
    crashed = asyncio.create_task(watching.ensure_webhook(rig.pipeline, connection_id, BOARD))
    await held.wait_reached()
    crashed.cancel()  # as if the process died inside the provider's call: the claim stays
    held.release()
    await asyncio.gather(crashed, return_exceptions=True)

    await watching.ensure_webhook(rig.pipeline, connection_id, BOARD)
    assert fake.calls["ensure_webhook"] == 1  # still claimed: left to the first

    rig.clock.advance(rig.pipeline.webhook_claim_lease.total_seconds() + 1)
    await watching.ensure_webhook(rig.pipeline, connection_id, BOARD)

    assert fake.calls["ensure_webhook"] == 2
    assert (await webhook_row(rig, connection_id)).external_webhook_id == f"hook-{BOARD}"


async def test_an_expiring_webhook_is_refreshed_once_by_concurrent_callers(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    connection_id = await rig.connect("acme", "tok-a")
    await watching.ensure_webhook(rig.pipeline, connection_id, BOARD)
    fake.webhook_lifetime = timedelta(days=1)  # within the renewal margin from now on
    async with transaction(rig.pipeline.sessions) as session:
        row = await rig.pipeline.repo.webhook_for(session, connection_id, BOARD)
        await rig.pipeline.repo.webhook_registered(
            session, row.id, row.external_webhook_id, None, rig.clock() + timedelta(days=1)
        )
    held = fake.hold("ensure_webhook", container_id=BOARD)
    refreshing = asyncio.create_task(watching.ensure_webhook(rig.pipeline, connection_id, BOARD))
    await held.wait_reached()

    await asyncio.gather(
        *(watching.ensure_webhook(rig.pipeline, connection_id, BOARD) for _ in range(4))
    )
    held.release()
    await refreshing

    assert fake.webhook_refreshes[BOARD] == 1
